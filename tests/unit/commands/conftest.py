"""The `world` fixture: a fake server per test, once under dash and once under bash."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxpanel.deploy.commands import AppLayout, Host, q

from ._support import FAKE_NGINX, FAKE_SUPERVISORCTL, SHELLS, WEIRD, World, write_script


@pytest.fixture(params=SHELLS)
def world(request, tmp_path: Path) -> World:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    root = tmp_path / WEIRD
    host = Host(
        user="rx",
        deploy_root=str(root / "srv"),
        nginx_conf_dir=str(root / "nginx"),
        nginx_cmd=f"{bin_dir}/nginx -c /x/nginx.conf",
        supervisor_conf_dir=str(root / "supervisor"),
        supervisorctl_cmd=f"{bin_dir}/supervisorctl -c /x/s.conf",
    )
    (root / "nginx").mkdir(parents=True)
    (root / "supervisor").mkdir()
    fill = {"calls": q(calls), "conf_dir": q(root / "nginx")}
    write_script(bin_dir / "nginx", FAKE_NGINX.format(**fill))
    write_script(bin_dir / "supervisorctl", FAKE_SUPERVISORCTL.format(**fill))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return World(tmp_path, request.param, AppLayout(host, "demo"), bin_dir, calls, cwd)
