"""The composite commands (deploy/commands/composite.py): exact strings, shell
syntax, and the standby stop run against a temporary directory."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from rxpanel.deploy.commands import AppLayout, Host, composite, lock, nginx, release, standby
from rxpanel.deploy.commands import supervisor as supervisor_cmd

from ._support import as_demo

APP = AppLayout(Host(), "demo")
SUDO = AppLayout(Host(sudo=True, supervisorctl_cmd="supervisorctl -c /x/s.conf"), "demo")
RID = "20261121T180102-ab12cd"
RID2 = "20261122T090000-cd34ef"
TMP = "/srv/rxpanel/demo/tmp"


def test_remove_stale_lock():
    assert composite.remove_stale_lock(APP) == "rm -rf /srv/rxpanel/demo/.lock"


def test_start_fresh_clears_the_standby_marker_then_starts():
    conf = f"{TMP}/rxpanel-demo-green.conf"
    cmd = composite.start_fresh(APP, "green", 8101, conf)
    assert cmd == (
        "rm -f /srv/rxpanel/demo/standby && "
        f"{{ {supervisor_cmd.stop(APP, 'green')}; }} >/dev/null 2>&1 && "
        "{ ! { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
        "awk '$4 == \"0A\" && $2 ~ /:1FA5$/ {found=1} END {exit !found}'; } || "
        "{ echo 'port 8101 is in use by another process on the server' >&2; exit 98; }; } && "
        "install -m 0644 /srv/rxpanel/demo/tmp/rxpanel-demo-green.conf "
        "/etc/supervisor/conf.d/rxpanel-demo-green.conf && "
        "rm -f /srv/rxpanel/demo/tmp/rxpanel-demo-green.conf && "
        "truncate -s 0 /srv/rxpanel/demo/logs/green.log && "
        '{ out=$(supervisorctl update rxpanel-demo-green 2>&1); rc=$?; [ -z "$out" ] || '
        'echo "$out"; [ $rc = 0 ]; } && '
        'case "$out" in *"updated process group"*|*"added process group"*) ;; '
        "*) supervisorctl start rxpanel-demo-green 2>&1 | grep -v 'already started' || true ;; esac"
    )
    assert cmd == f"{standby.clear(APP)} && {supervisor_cmd.start(APP, 'green', 8101, conf)}"


def test_switch_installs_the_site_then_flips_current():
    cmd = composite.switch(APP, f"{TMP}/site.conf", RID, "green", "demo.example")
    prev, site = "/srv/rxpanel/demo/site.prev", "/etc/nginx/conf.d/rxpanel-demo.conf"
    out = "/srv/rxpanel/demo/tmp/nginx.out"
    restore = f"if [ -f {prev} ]; then install -m 0644 {prev} {site}; else rm -f {site}; fi"
    assert cmd == (
        f"{{ rm -f {prev}; [ ! -f {site} ] || cp -p {site} {prev}; }} && "
        f"install -m 0644 /srv/rxpanel/demo/tmp/site.conf {site} && "
        "rm -f /srv/rxpanel/demo/tmp/site.conf && "
        f"if ! nginx -t 2>{out}; then cat {out} >&2; {restore}; "
        "echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        f"if grep -qF -- 'conflicting server name \"demo.example\" on' {out}; "
        f"then cat {out} >&2; {restore}; "
        "echo 'nginx -t: another site on this server already has server name demo.example: "
        "the previous site config was kept' >&2; exit 1; fi && "
        f"if ! nginx -s reload 2>{out}; then cat {out} >&2; {restore}; "
        "echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi && "
        f"ln -sfn releases/{RID} /srv/rxpanel/demo/.current.tmp && "
        "mv -T /srv/rxpanel/demo/.current.tmp /srv/rxpanel/demo/current && "
        f"printf '%s %s\\n' green {RID} > /srv/rxpanel/demo/live"
    )
    assert cmd.endswith(release.activate(APP, RID, "green"))
    assert cmd.startswith(nginx.install_site(APP, f"{TMP}/site.conf", "demo.example"))


VENVS_LOOP = (
    "cd /srv/rxpanel/demo/venvs 2>/dev/null && for v in *; do "
    '[ -d "$v" ] || continue; keep=0; for k in {keep}; do [ "$v" = "$k" ] && keep=1; done; '
    '[ $keep = 1 ] || rm -rf -- "$v" "$v.requirements.txt"; done; true'
)


def test_finish_marks_the_standby_and_applies_retention():
    cmd = composite.finish(APP, ("blue", RID), [RID2], ["h1"])
    assert cmd == (
        f"printf '%s %s\\n' blue {RID} > /srv/rxpanel/demo/standby && "
        f"rm -rf /srv/rxpanel/demo/releases/{RID2} && " + as_demo(VENVS_LOOP.format(keep="h1"))
    )
    assert "sleep" not in cmd and "nohup" not in cmd  # no timer left on the server


def test_finish_without_a_standby():
    assert composite.finish(APP, None, [], []) == "true && " + as_demo(VENVS_LOOP.format(keep="''"))


def test_remove_site_if_present():
    assert composite.remove_site_if_present(APP) == (
        "{ [ ! -f /etc/nginx/conf.d/rxpanel-demo.conf ] || "
        "rm -f /etc/nginx/conf.d/rxpanel-demo.conf && nginx -s reload; }"
    )


def test_delete_app_files():
    assert composite.delete_app_files(APP) == (
        "rm -rf /srv/rxpanel/demo && ent=$(getent passwd rxa-demo) && "
        "case \"$ent\" in *:'rxpanel app demo':*) userdel rxa-demo >/dev/null 2>&1 || true ;; "
        "esac; true"
    )
    login = AppLayout(Host(user="deploy"), "demo")
    assert composite.delete_app_files(login) == "rm -rf /srv/rxpanel/demo && true"


def test_stop_standby():
    assert composite.stop_standby(APP, "blue", RID) == (
        "if mkdir /srv/rxpanel/demo/.lock 2>/dev/null; then "
        "echo standby-stop > /srv/rxpanel/demo/.lock/owner; "
        f"if [ \"$(cat /srv/rxpanel/demo/standby 2>/dev/null)\" = 'blue {RID}' ]; then "
        f"{supervisor_cmd.stop(APP, 'blue')}; rm -f /srv/rxpanel/demo/standby; fi; "
        "rm -rf /srv/rxpanel/demo/.lock; else exit 75; fi"
    )
    assert "sudo -n supervisorctl -c /x/s.conf stop rxpanel-demo-blue ||" in composite.stop_standby(
        SUDO, "blue", RID
    )
    assert standby.STOP_OWNER == "standby-stop"


WEIRD = AppLayout(Host(deploy_root="/tmp/a b;$(x)'q", nginx_conf_dir="/tmp/n 'x'"), "demo")
CASES = {
    f"{host}-{name}": cmd
    for host, app in [("plain", APP), ("sudo", SUDO), ("weird", WEIRD)]
    for name, cmd in {
        "remove_stale_lock": composite.remove_stale_lock(app),
        "start_fresh": composite.start_fresh(app, "blue", 8100, f"{app.tmp}/p.conf"),
        "switch": composite.switch(app, f"{app.tmp}/site.conf", RID, "blue", "demo.example"),
        "finish": composite.finish(app, ("green", RID), [RID2], ["h1", "h2"]),
        "finish-none": composite.finish(app, None, [], []),
        "remove_site_if_present": composite.remove_site_if_present(app),
        "delete_app_files": composite.delete_app_files(app),
        "stop_standby": composite.stop_standby(app, "green", RID),
    }.items()
}


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("cmd", list(CASES.values()), ids=list(CASES))
def test_syntax(shell, cmd):
    result = subprocess.run([shell, "-n", "-c", cmd], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# the standby stop, run with a fake supervisorctl


@pytest.fixture
def server(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    fake = bin_dir / "supervisorctl"
    fake.write_text(f'#!/bin/sh\necho "supervisorctl $*" >> {calls}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    app = AppLayout(
        Host(deploy_root=str(tmp_path / "srv x"), supervisorctl_cmd=str(fake)), "demo"
    )
    Path(app.dir).mkdir(parents=True)

    def run(cmd: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env)

    def called() -> list[str]:
        return calls.read_text().splitlines() if calls.exists() else []

    return app, run, called


def test_stop_standby_stops_the_recorded_standby(server):
    app, run, called = server
    run(standby.mark(app, "blue", RID))
    assert run(composite.stop_standby(app, "blue", RID)).returncode == 0
    assert called() == ["supervisorctl stop rxpanel-demo-blue"]
    assert not Path(app.standby_marker).exists()
    assert not Path(app.lock).exists()


def test_stop_standby_leaves_a_newer_standby_alone(server):
    app, run, called = server
    run(standby.mark(app, "blue", RID2))  # a later switch made another standby
    assert run(composite.stop_standby(app, "blue", RID)).returncode == 0
    assert called() == []
    assert Path(app.standby_marker).read_text() == f"blue {RID2}\n"
    assert not Path(app.lock).exists()


def test_stop_standby_waits_for_a_held_lock(server):
    app, run, called = server
    run(standby.mark(app, "blue", RID))
    assert run(lock.acquire(app, "deployment #3 (box:1)")).returncode == 0
    assert run(composite.stop_standby(app, "blue", RID)).returncode == lock.LOCKED_EXIT
    assert called() == []
    assert Path(app.standby_marker).exists()
    assert (Path(app.lock) / "owner").read_text() == "deployment #3 (box:1)\n"
    shutil.rmtree(app.lock)


# the cutover, run for real against a loopback port, with a fake supervisorctl


def _cutover(tmp_path, port: int, drain: float) -> tuple[str, list[str], float]:
    import time

    calls = tmp_path / "calls"
    fake = tmp_path / "supervisorctl"
    fake.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" = status ] && echo "demo-blue RUNNING"\nexit 0\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    app = AppLayout(Host(supervisorctl_cmd=str(fake)), "demo")
    start = time.monotonic()
    out = subprocess.run(
        ["sh", "-c", composite.cut_over(app, "blue", port, drain)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    took = time.monotonic() - start
    return out.stdout.strip(), calls.read_text().split("\n")[:-1] if calls.exists() else [], took


def test_a_cutover_with_no_open_connection_restarts_nothing_at_once(tmp_path):
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        said, calls, took = _cutover(tmp_path, server.getsockname()[1], 5)
    assert said == "no open connections" and calls == [] and took < 2


def test_a_cutover_restarts_the_colour_once_its_drain_ends_with_a_tab_still_open(tmp_path):
    import socket

    with socket.socket() as server, socket.socket() as tab:
        server.bind(("127.0.0.1", 0))
        server.listen()
        tab.connect(server.getsockname())  # a websocket that stays open
        accepted, _ = server.accept()
        with accepted:
            said, calls, took = _cutover(tmp_path, server.getsockname()[1], 1)
    assert said == "restarted with 1 open", said  # the server side of it, counted once
    assert calls == ["status rxpanel-demo-blue", "restart rxpanel-demo-blue"]
    assert 0.9 < took < 4
