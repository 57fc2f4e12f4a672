"""How long a stop of a colour takes, and what it leaves, on the local sandbox.

    .venv/bin/python bench/stop_bench.py [--stops 5] [--drain 10]

Deploys the sample app (from a real git repo, with one slow API route added) and
stops its live colour --stops times in each case, with the command the engine sends
(supervisor.stop: supervisorctl stop, then the sweep), run on the sandbox host:
  idle          nothing connected
  websocket     one open websocket to /_event (through nginx)
  slow request  one request in flight that would take 60 s
  both          the two at once
For each case: median and max seconds to stopped, how many stops ran into the
drain (then the group was killed), and leftover processes after the stop (any
process still tagged as the colour, or still in the program's process group;
target 0). The colour is started again, and healthy, before each stop."""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
from sandbox_server import register  # noqa: E402

from tests.conftest import AppRepo, free_port  # noqa: E402
from tests.support.procs import alive  # noqa: E402

SLOW_ROUTE = """
import asyncio


async def slow(request):
    await asyncio.sleep(float(request.query_params.get("s", "60")))
    return JSONResponse({"slept": True})
"""
CASES = {"idle": (False, False), "websocket": (True, False), "slow request": (False, True)}
CASES["both"] = (True, True)


def add_slow_route(repo: AppRepo) -> None:
    path = repo.path / "sampleapp" / "sampleapp.py"
    text = path.read_text()
    routes = "api = Starlette(routes=["
    assert routes in text, "the sample app's API routes moved"
    text = text.replace(routes, SLOW_ROUTE + "\n\n" + routes + 'Route("/api/slow", slow), ')
    path.write_text(text)
    repo.commit("slow route")


def tagged(program: str) -> set[int]:
    from rxpanel.deploy.commands import supervisor

    tag, found = f"{supervisor.TAG}={program}".encode(), set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if tag in (d / "environ").read_bytes().split(b"\0") and alive(int(d.name)):
                    found.add(int(d.name))
            except OSError:
                pass
    return found


def in_group(pgid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True).stdout
    pairs = (line.split() for line in out.splitlines())
    return {int(p) for p, g in pairs if int(g) == pgid and alive(int(p))}


def sh(cmd: str, timeout: float = 120) -> str:
    return subprocess.run(
        ["sh", "-c", cmd], capture_output=True, text=True, timeout=timeout
    ).stdout


def open_websocket(url: str) -> socket.socket:
    """A websocket to the app's /_event, through nginx, left open (engine.io's own)."""
    parts = urlsplit(url)
    s = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
    s.sendall(
        (
            "GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\nOrigin: {url}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"no websocket: {head[:200]!r}")
    return s


def wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ping", timeout=2).json() == "pong":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come back")


def running_group(layout, color: str, url: str) -> int:
    """The process group of the colour once it is RUNNING and healthy (/ping can
    answer inside startsecs, and a backend that died is restarted: ask again)."""
    from rxpanel.deploy.commands import supervisor

    for _ in range(600):
        wait_healthy(url)
        status = sh(supervisor.status(layout, color))
        if "RUNNING" in status:
            try:
                return os.getpgid(int(status.split("pid ", 1)[1].split(",", 1)[0]))
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    raise SystemExit(f"the colour does not stay up: {status}")


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--stops", type=int, default=5, help="stops per case (5)")
    args.add_argument("--drain", type=int, default=10, help="the app's stop drain, s (10)")
    opts = args.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rxstopbench-"))
    os.environ["RXPANEL_HOME"] = str(work / "home")
    os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
    os.environ.setdefault("RXPANEL_SOURCE_ROOTS", tempfile.gettempdir())
    if os.geteuid() == 0:  # the app's own user passes through to the sandbox's deploy root
        work.chmod(0o711)
    from rxpanel import db, sandbox
    from rxpanel.deploy.commands import AppLayout, Host, supervisor
    from rxpanel.services import apps, deployments
    from rxpanel.worker import runs as runner

    db.upgrade()
    box = sandbox.up(work / "sb")
    try:
        repo = AppRepo(work / "repo")
        add_slow_route(repo)
        register(box, "bench")
        url = f"http://127.0.0.1:{free_port()}"
        apps.add(
            apps.AppInput(
                name="stopbench",
                server="bench",
                source=str(repo.path),
                url=url,
                stop_drain=opts.drain,
            )
        )
        app = apps.get("stopbench")
        dep = deployments.trigger(app.id, kind="deploy", trigger="cli", by="bench")
        runner.drain(app.id, done=lambda: deployments.is_final(dep.id))
        dep = deployments.get(dep.id)
        if dep.status != "success":
            raise SystemExit(f"deploy failed: {dep.reason}")
        wait_healthy(url)
        layout = AppLayout(
            Host(
                user=box.user,
                deploy_root=box.deploy_root,
                nginx_conf_dir=box.nginx_conf_dir,
                nginx_cmd=box.nginx_cmd,
                supervisor_conf_dir=box.supervisor_conf_dir,
                supervisorctl_cmd=box.supervisorctl_cmd,
            ),
            "stopbench",
        )
        color = apps.get("stopbench").live_color
        program = layout.program(color)
        print(f"stopping {program} (stop drain {opts.drain} s), {opts.stops} stops per case")
        print(f"{'case':<14}{'median s':>10}{'max s':>8}{'drained':>9}{'leftover':>10}")
        for case, (ws, slow) in CASES.items():
            times, drained, leftover = [], 0, 0
            for _ in range(opts.stops):
                status = sh(supervisor.status(layout, color))
                if "RUNNING" not in status:
                    sh(layout.host.supervisorctl("start", program))
                pgid = running_group(layout, color, url)
                held = open_websocket(url) if ws else None
                thread = None
                if slow:
                    thread = threading.Thread(
                        target=lambda: httpx.get(f"{url}/api/slow?s=60", timeout=90),
                        daemon=True,
                    )
                    thread.start()
                time.sleep(0.5)  # the request is in the backend
                before = tagged(program) | in_group(pgid)
                start = time.monotonic()
                sh(supervisor.stop(layout, color))
                took = time.monotonic() - start
                left = (tagged(program) | in_group(pgid)) & (before | tagged(program))
                times.append(took)
                drained += took >= opts.drain
                leftover += len(left)
                if held is not None:
                    held.close()
            print(
                f"{case:<14}{statistics.median(times):>10.2f}{max(times):>8.2f}"
                f"{drained:>6}/{opts.stops:<2}{leftover:>10}"
            )
    finally:
        sandbox.down(box.dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
