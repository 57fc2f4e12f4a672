"""One panel process sweeps 1,000 health endpoints served on loopback.

    .venv/bin/python bench/health_bench.py [--apps 1000] [--sweeps 5]

The endpoints are 1,000 distinct addresses (127.0.x.y, one per app) answered by
a granian server in another process, so each app has its own host and
connections as real apps do. A sweep is what the scheduler runs for an
interval: read the targets, probe them all (httpx, async, pooled), and record
the results and state changes in the database. Prints wall and CPU seconds."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'"pong"'})
"""


def main() -> int:
    opts = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    opts.add_argument("--apps", type=int, default=1000)
    opts.add_argument("--sweeps", type=int, default=5)
    args = opts.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rxhealth-"))
    os.environ["RXPANEL_HOME"] = str(work / "home")
    (work / "endpoints.py").write_text(SERVER)
    from tests.conftest import free_port

    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/granian"),
            "--interface",
            "asgi",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "endpoints:app",
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _seed(args.apps, port)
        _wait_for(f"http://127.0.0.1:{port}/ping")
        walls, cpus, oks = [], [], []
        for n in range(args.sweeps):
            wall, cpu, ok = asyncio.run(_sweep())
            walls.append(wall)
            cpus.append(cpu)
            oks.append(ok)
            print(
                f"sweep {n + 1}: {ok}/{args.apps} healthy, wall {wall:.2f} s, CPU {cpu:.2f} s",
                flush=True,
            )
        print(
            f"\n{args.apps} endpoints, {args.sweeps} sweeps: wall median {statistics.median(walls):.2f} s "
            f"(max {max(walls):.2f} s), CPU median {statistics.median(cpus):.2f} s per sweep"
        )
        print(
            f"target: a sweep of 1,000 endpoints <= 2 s wall: "
            f"{'PASS' if args.apps >= 1000 and max(walls) <= 2 else 'MISS'}"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


def _seed(count: int, port: int) -> None:
    """`count` deployed apps, each on its own loopback address."""
    from rxpanel import db, secrets
    from rxpanel.models import App, AppServer, Release, Server

    db.upgrade()
    with db.session() as s:
        server = Server(name="bench", host="127.0.0.1", ssh_key_enc=secrets.encrypt("x"))
        s.add(server)
        s.flush()
        for i in range(count):
            app = App(
                name=f"app{i}",
                source="https://git.example/src.git",
                env_enc=secrets.encrypt("{}"),
                url=f"http://127.0.{1 + i // 250}.{1 + i % 250}:{port}",
            )
            s.add(app)
            s.flush()
            s.add(
                AppServer(
                    app_id=app.id,
                    server_id=server.id,
                    port_blue=9000 + 2 * i,
                    port_green=9001 + 2 * i,
                    primary=True,
                )
            )
            rel = Release(
                id=f"20260101T000000-{i:06d}",
                app_id=app.id,
                commit="c",
                build_key="k",
                req_hash="h",
                env_enc="x",
                status="live",
            )
            s.add(rel)
            app.current_release_id = rel.id
            s.add(app)


def _wait_for(url: str) -> None:
    import httpx

    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the endpoint server did not start")


async def _sweep() -> tuple[float, float, int]:
    from rxpanel.health import prober, watch
    from rxpanel.services import health

    async with prober.new_client() as client:
        wall, cpu = time.perf_counter(), time.process_time()
        targets = await asyncio.to_thread(health.targets, 30)
        await watch.check_apps(client, targets)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ok = sum(a.health_state == "healthy" for a in _apps())
    return wall, cpu, ok


def _apps():
    from rxpanel.services import apps

    return apps.list_all()


if __name__ == "__main__":
    raise SystemExit(main())
