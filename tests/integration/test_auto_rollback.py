"""Auto-rollback end to end on the sandbox: a release that passes the deploy's
health gate but goes down minutes later is rolled back by the health checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import AppRepo, free_port, get, wait_for

pytestmark = pytest.mark.integration

# /ping answers "pong" for 12 s after the backend starts, then 500
DYING = """
import time as _time

_STARTED = _time.time()


async def _dying_ping(_request):
    if _time.time() - _STARTED > 12:
        return JSONResponse("dying", status_code=500)
    return JSONResponse("pong")

"""


def test_a_release_that_goes_down_in_its_watch_window_is_rolled_back(
    cli, sandbox_server, tmp_path_factory
):
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    inbox = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    cli.ok(
        "notify",
        "add",
        "team",
        "--kind",
        "slack",
        "--url",
        f"http://127.0.0.1:{inbox.server_address[1]}/hook",
    )

    repo = AppRepo(tmp_path_factory.mktemp("watched") / "app")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app",
        "add",
        "watched",
        "--server",
        sandbox_server,
        "--source",
        str(repo.path),
        "--url",
        url,
        "--check-interval",
        "5",
        "--check-timeout",
        "2",
        "--failure-threshold",
        "2",
        "--watch-minutes",
        "5",
        "--health-timeout",
        "20",
    )
    assert cli("deploy", "watched").returncode == 0
    assert get(f"{url}/api/version").json()["version"] == "v1"

    app_py = repo.path / "sampleapp" / "sampleapp.py"
    code = app_py.read_text()
    app_py.write_text(
        code.replace("api = Starlette(", DYING + "api = Starlette(").replace(
            'routes=[Route("/api/version", version)',
            'routes=[Route("/ping", _dying_ping), Route("/api/version", version)',
        )
    )
    repo.set_version("v2")
    result = cli("deploy", "watched")
    assert result.returncode == 0, result.stderr  # it passes the gate: it is young
    assert get(f"{url}/api/version").json()["version"] == "v2"
    v2 = cli.json("releases", "watched")[0]["id"]

    worker = subprocess.Popen(
        [sys.executable, "-m", "rxpanel", "worker"],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        rollback = wait_for(
            lambda: next(
                (
                    d
                    for d in cli.json("deployments", "watched")
                    if d["kind"] == "rollback" and d["status"] == "success"
                ),
                None,
            ),
            timeout=120,
            what="the automatic rollback",
        )
        assert rollback["trigger"] == "auto" and rollback["by"] == "health watch"
        assert get(f"{url}/api/version").json()["version"] == "v1"
        bad = next(r for r in cli.json("releases", "watched") if r["id"] == v2)
        assert bad["status"] == "bad" and "watch window" in bad["reason"]
        incident = cli.json("health", "watched")["incidents"][0]
        assert incident["state"] == "down" and incident["rolled_back"]
        wait_for(
            lambda: any("marked bad and rolling back" in m for m in received),
            timeout=30,
            what="the alert about the rollback",
        )
        assert any("watched: rollback" in m and "success" in m for m in received) or wait_for(
            lambda: any("watched: rollback" in m and "success" in m for m in received),
            timeout=30,
            what="the rollback outcome alert",
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        inbox.shutdown()
        cli.ok("notify", "remove", "team")
