"""Health checks against a real HTTP server on loopback whose answers the test
controls (healthy, slow, 500, refused); alerts to a real receiving server; and
exactly one scheduler among several worker processes (the leader lease)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import Cli, free_port, wait_for

pytestmark = pytest.mark.integration


class Controlled:
    """/ping answers as `mode` says; `received` keeps what was POSTed (alerts)."""

    def __init__(self):
        self.mode, self.received, self.fail_posts = "ok", [], 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if outer.mode == "slow":
                    time.sleep(2.5)
                code, body = (500, b'"down"') if outer.mode == "500" else (200, b'"pong"')
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.fail_posts > 0:
                    outer.fail_posts -= 1
                    self.send_response(500)
                else:
                    outer.received.append((self.path, json.loads(data)))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.start()

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def refuse(self):
        """Close the listening socket: connections are refused."""
        self.server.shutdown()
        self.server.server_close()

    def reopen(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.server.RequestHandlerClass)
        self.start()


@pytest.fixture(scope="module")
def target():
    server = Controlled()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def hcli(tmp_path_factory, target) -> Cli:
    """A panel home with one 'deployed' app whose URL is the controlled server."""
    cli = Cli(tmp_path_factory.mktemp("health-home"))
    key = tmp_path_factory.mktemp("key") / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    cli.ok("server", "add", "s1", "--host", "127.0.0.1", "--key", str(key))
    cli.ok(
        "app",
        "add",
        "web",
        "--server",
        "s1",
        "--source",
        "https://git.example/none.git",
        "--url",
        f"http://127.0.0.1:{target.port}",
        "--check-interval",
        "5",
        "--check-timeout",
        "1",
        "--failure-threshold",
        "2",
        "--no-auto-rollback",
    )
    db = sqlite3.connect(cli.home / "rxpanel.db")
    with db:  # as if deployed: the checks only probe deployed apps
        db.execute(
            "insert into release (id, app_id, [commit], build_key, req_hash, env_enc, env_hash,"
            " status, created_at, live_at) values ('20260101T000000-aaaaaa', 1, 'c', 'k', 'h',"
            " 'x', '', 'live', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        db.execute("update app set current_release_id='20260101T000000-aaaaaa', live_color='blue'")
    return cli


def state(cli: Cli) -> dict:
    return cli.json("health", "web")


def test_the_state_machine_through_healthy_slow_500_refused(hcli, target):
    target.mode = "ok"
    assert hcli("check", "web").returncode == 0
    assert state(hcli)["state"] == "healthy"

    target.mode = "slow"  # slower than the 1 s timeout
    result = hcli("check", "web")
    assert result.returncode == 1 and "no answer within 1 s" in result.stdout
    assert state(hcli)["state"] == "degraded"

    target.mode = "500"
    assert "HTTP 500" in hcli("check", "web").stdout
    data = state(hcli)
    assert data["state"] == "down"
    assert data["incidents"][0]["state"] == "down" and data["incidents"][0]["ended"] is None
    assert "no answer within 1 s" in data["incidents"][0]["cause"]

    target.refuse()
    assert "connection refused" in hcli("check", "web").stdout
    target.reopen()
    target.mode = "ok"
    hcli("check", "web")
    assert state(hcli)["state"] == "down"  # one good check is not a recovery
    hcli("check", "web")
    data = state(hcli)
    assert data["state"] == "healthy"
    assert data["incidents"][0]["ended"] is not None
    assert 0 < data["uptime_24h"] < 100
    latencies = [c["latency_ms"] for c in data["checks"] if c["ok"]]
    assert latencies and all(0 < x < 1000 for x in latencies)


def test_one_scheduler_among_three_workers_and_alerts_are_delivered(hcli, target):
    target.mode, target.received[:] = "ok", []
    target.fail_posts = 1  # the first delivery fails: it must be retried
    for kind in ("webhook", "slack", "discord"):
        hcli.ok(
            "notify", "add", kind, "--kind", kind, "--url", f"http://127.0.0.1:{target.port}/{kind}"
        )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "rxpanel", "worker"],
            env=hcli.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(3)
    ]
    try:
        started = time.time()
        time.sleep(17)
        stamps = check_times(hcli, since=started)
        assert 2 <= len(stamps) <= 4, stamps  # about every 5 s, not three times as often
        assert all(b - a >= 4 for a, b in zip(stamps, stamps[1:], strict=False)), stamps

        # the app goes down: one alert per channel, sent by the leader only
        target.mode = "500"
        wait_for(lambda: state(hcli)["state"] == "down", timeout=30, what="down")
        wait_for(
            lambda: len([p for p, b in target.received if b_event(b) == "health.down"]) >= 3,
            timeout=40,
            what="three down alerts (one retried after a failure)",
        )
        down = {p: b for p, b in target.received if b_event(b) == "health.down"}
        assert set(down) == {"/webhook", "/slack", "/discord"}
        assert down["/webhook"]["app"] == "web" and down["/webhook"]["after"] == "down"
        assert "web is down: HTTP 500" in down["/slack"]["text"]
        assert "web is down" in down["/discord"]["content"]
        events = [b_event(b) for _, b in target.received]
        assert events.count("health.down") == 3  # one per channel, not one per worker
        assert events.count("health.degraded") <= 3

        # the leader dies: another worker takes over and the checks go on
        leader = hcli_leader(hcli)
        os.killpg(workers[[w.pid for w in workers].index(leader)].pid, signal.SIGKILL)
        target.mode = "ok"
        wait_for(
            lambda: state(hcli)["state"] == "healthy",
            timeout=60,
            what="recovery seen by the new leader",
        )
        assert hcli_leader(hcli) != leader
    finally:
        for w in workers:
            try:
                os.killpg(w.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            w.wait(timeout=30)


def check_times(cli: Cli, since: float) -> list[float]:
    db = sqlite3.connect(cli.home / "rxpanel.db")
    rows = db.execute("select checked_at from healthcheck order by checked_at").fetchall()
    stamps = [
        time.mktime(time.strptime(r[0][:19], "%Y-%m-%d %H:%M:%S")) - time.timezone for r in rows
    ]
    return [t for t in stamps if t >= since - 1]


def b_event(body: dict) -> str:
    if "event" in body:
        return body["event"]
    text = body.get("text") or body.get("content") or ""
    for state in ("down", "degraded"):
        if f" is {state}" in text:
            return f"health.{state}"
    return "other"


def hcli_leader(cli: Cli) -> int:
    db = sqlite3.connect(cli.home / "rxpanel.db")
    (holder,) = db.execute("select holder from lease where name='worker'").fetchone()
    return int(holder.split(":")[1])
