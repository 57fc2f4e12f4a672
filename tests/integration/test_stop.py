"""Stopping a colour on the real sandbox: it drains for the app's stop drain, then the
whole process group is killed, and what left the group is swept: a backend that
ignores SIGTERM stops in bounded time and leaves no process behind."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from rxpanel.deploy.commands import AppLayout, Host, supervisor
from tests.conftest import AppRepo, free_port, get
from tests.support.procs import alive

pytestmark = pytest.mark.integration

DRAIN = 3  # seconds: the app's --stop-drain
# Run where the release runs (not in the build): TERM blocked in the backend (the mask
# is inherited by granian's workers and threads, so no handler ever sees it), and a
# child in a session of its own that ignores TERM (out of the process group).
DEAF = """
import os, signal, subprocess, sys
if "/releases/" in os.getcwd() and os.environ.get("RXPANEL_PROGRAM"):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    subprocess.Popen(
        [sys.executable, "-c", "import signal, time; "
         "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"],
        start_new_session=True,
    )
"""


def tagged(program: str) -> list[int]:
    """Live (not zombie) processes carrying the colour's tag."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes().split(b"\0")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{supervisor.TAG}={program}".encode() in env and state != "Z":
            found.append(int(d.name))
    return found


def group_of(pid: int) -> list[int]:
    pgid = os.getpgid(pid)
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True).stdout
    return [int(p) for p, g in (line.split() for line in out.splitlines()) if int(g) == pgid]


@pytest.fixture(scope="module")
def deaf_app(cli, sandbox, sandbox_server, tmp_path_factory):
    repo = AppRepo(tmp_path_factory.mktemp("repo-stop") / "sampleapp")
    repo.set_version("deaf", DEAF)
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app", "add", "stopper", "--server", sandbox_server, "--source", str(repo.path),
        "--url", url, "--stop-drain", str(DRAIN), "--health-timeout", "30",
    )  # fmt: skip
    cli.ok("deploy", "stopper")
    assert get(f"{url}/api/version").json()["version"] == "deaf"
    host = Host(
        user=sandbox.user,
        deploy_root=sandbox.deploy_root,
        nginx_conf_dir=sandbox.nginx_conf_dir,
        nginx_cmd=sandbox.nginx_cmd,
        supervisor_conf_dir=sandbox.supervisor_conf_dir,
        supervisorctl_cmd=sandbox.supervisorctl_cmd,
    )
    app = next(a for a in cli.json("app", "list") if a["name"] == "stopper")
    yield AppLayout(host, "stopper"), app["live_color"]
    cli("app", "remove", "stopper", "--purge")


def test_a_backend_deaf_to_sigterm_stops_within_the_drain_and_leaves_nothing(deaf_app, sandbox):
    layout, color = deaf_app
    program = layout.program(color)
    conf = Path(layout.program_conf(color)).read_text()
    assert f"stopwaitsecs={DRAIN}" in conf and "killasgroup=true" in conf

    status = subprocess.run(
        ["sh", "-c", supervisor.status(layout, color)], capture_output=True, text=True
    ).stdout
    assert "RUNNING" in status, status
    main = int(status.split("pid ", 1)[1].split(",", 1)[0])
    before = tagged(program)
    in_group = group_of(main)
    assert len(in_group) >= 2, "granian runs its workers in the program's group"
    escaped = [p for p in before if p not in in_group]
    assert escaped, "the app's child left the process group (its own session)"
    if os.geteuid() == 0:  # the app runs as its own user
        assert {Path(f"/proc/{p}").stat().st_uid for p in before} == {
            int(subprocess.check_output(["id", "-u", layout.unix_user]))
        }

    start = time.monotonic()
    out = subprocess.run(
        ["sh", "-c", supervisor.stop(layout, color)], capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - start
    assert out.returncode == 0, out.stdout + out.stderr
    # TERM was ignored: the drain ran out, then KILL to the group; the escaped child swept
    assert DRAIN - 0.5 < took < DRAIN + 5, f"stopped in {took:.1f}s ({out.stdout})"
    assert "killed" in out.stdout and program in out.stdout, out.stdout
    assert tagged(program) == []
    assert [p for p in in_group if alive(p)] == []
    status = subprocess.run(
        ["sh", "-c", supervisor.status(layout, color)], capture_output=True, text=True
    ).stdout
    assert "STOPPED" in status, status
