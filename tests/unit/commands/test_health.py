"""deploy/commands/health.py: the health gate that waits for the new colour
(exact strings, syntax, behaviour against a real local HTTP server)."""

from __future__ import annotations

import shlex
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rxpanel.deploy.commands import health

from ._support import (
    APP,
    SANDBOX_APP,
    SHELLS,
    SUDO_APP,
    assert_syntax,
    free_port,
    syntax_cases,
)

EXACT = [
    pytest.param(
        health.gate(APP, "green", 8002, "/ping", 60),
        f"python3 -c {shlex.quote(health.GATE)} 8002 /ping 60 supervisorctl status rxpanel-demo-green",
        id="health.gate",
    ),
    pytest.param(
        health.gate(SUDO_APP, "blue", 8001, "/a b", 2.5),
        f"python3 -c {shlex.quote(health.GATE)} 8001 '/a b' 2.5 "
        "sudo -n supervisorctl status rxpanel-demo-blue",
        id="health.gate-sudo",
    ),
    pytest.param(
        health.gate(SANDBOX_APP, "blue", 8001, "/_health", 90.0),
        f"python3 -c {shlex.quote(health.GATE)} 8001 /_health 90 "
        "/usr/bin/supervisorctl -c /x/s.conf status rxpanel-demo-blue",
        id="health.gate-sandbox",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    return {"health.gate": health.gate(app, "green", 8002, "/ping", 60)}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


class PingHandler(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        code, body = self.answers.get(self.path, (404, b"not found"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def backend():
    """A stand-in for the new colour's backend; set .answers to {path: (code, body)}."""
    handler = type("Handler", (PingHandler,), {"answers": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def test_gate_healthy(world, backend):
    port, handler = backend
    handler.answers = {"/ping": (200, b'"pong"\n')}
    result = world.run(health.gate(world.app, "green", port, "/ping", 5))
    assert (result.returncode, result.stdout) == (0, 'healthy: /ping answered "pong"\n')


def test_gate_other_path_accepts_any_200(world, backend):
    port, handler = backend
    handler.answers = {"/_health": (200, b'{"status": true}')}
    result = world.run(health.gate(world.app, "green", port, "/_health", 5))
    assert (result.returncode, result.stdout) == (
        0,
        'healthy: /_health answered {"status": true}\n',
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((200, b"hello"), "answered 'hello' instead of \"pong\""),
        ((503, b"starting"), "answered HTTP 503"),
    ],
)
def test_gate_unhealthy(world, backend, answer, why):
    port, handler = backend
    handler.answers = {"/ping": answer}
    result = world.run(health.gate(world.app, "green", port, "/ping", 0.3))
    assert result.returncode == 1
    assert result.stdout == f"not healthy after 0.3s: /ping {why}\n"


def test_gate_notices_a_crashed_program(world):
    started = time.monotonic()
    result = world.run(
        health.gate(world.app, "green", free_port(), "/ping", 10),
        SUP_STATUS="rxpanel-demo-green  FATAL  Exited too quickly",
    )
    assert result.returncode == 1
    assert result.stdout == "the app process crashed at start: rxpanel-demo-green FATAL\n"
    assert time.monotonic() - started < 5
    assert world.calls() == ["supervisorctl -c /x/s.conf status rxpanel-demo-green"]


def test_gate_notices_a_program_restarted_by_supervisor(world, tmp_path):
    # it died after startsecs, so supervisor counted it as started and restarted it:
    # every sample says RUNNING, but the pid changed
    seq = tmp_path / "status"
    seq.write_text(
        "rxpanel-demo-green  RUNNING  pid 101, uptime 0:00:02\n"
        "rxpanel-demo-green  RUNNING  pid 102, uptime 0:00:01\n"
    )
    started = time.monotonic()
    result = world.run(
        health.gate(world.app, "green", free_port(), "/ping", 10), SUP_STATUS_SEQ=str(seq)
    )
    assert result.returncode == 1
    assert result.stdout == "the app process crashed at start: rxpanel-demo-green restarted\n"
    assert time.monotonic() - started < 8


def test_gate_notices_a_restart_it_first_saw_starting(world, tmp_path):
    # the first sample caught it STARTING (no pid); every later one says RUNNING with
    # a new pid each time it could have been seen, but only its uptime gives it away
    seq = tmp_path / "status"
    seq.write_text("rxpanel-demo-green  STARTING\n" "rxpanel-demo-green  RUNNING  pid 101, uptime 0:00:00\n")
    result = world.run(
        health.gate(world.app, "green", free_port(), "/ping", 10), SUP_STATUS_SEQ=str(seq)
    )
    assert result.returncode == 1
    assert result.stdout == "the app process crashed at start: rxpanel-demo-green restarted\n"


def test_gate_waits_for_a_program_that_keeps_its_pid(world, tmp_path):
    seq = tmp_path / "status"
    seq.write_text(
        "rxpanel-demo-green  STARTING\n"
        "rxpanel-demo-green  RUNNING  pid 101, uptime 0:00:02\n"
        "rxpanel-demo-green  RUNNING  pid 101, uptime 1 day, 0:00:04\n"
    )
    result = world.run(
        health.gate(world.app, "green", free_port(), "/ping", 6.5), SUP_STATUS_SEQ=str(seq)
    )
    assert result.returncode == 1
    assert result.stdout.startswith("not healthy after 6.5s: /ping no answer")


def test_gate_asks_once_more_when_the_time_runs_out(world, tmp_path):
    # a start slowed down by load: RUNNING with its pid until the very end, then
    # restarted by supervisor just as the time runs out: still a crash, not a silent port
    seq = tmp_path / "status"
    seq.write_text(
        "rxpanel-demo-green  RUNNING  pid 101, uptime 0:00:01\n"
        "rxpanel-demo-green  RUNNING  pid 102, uptime 0:00:00\n"
    )
    result = world.run(
        health.gate(world.app, "green", free_port(), "/ping", 2.5), SUP_STATUS_SEQ=str(seq)
    )
    assert result.returncode == 1
    assert result.stdout == "the app process crashed at start: rxpanel-demo-green restarted\n"
    assert len(world.calls()) == 2  # one sample at 2 s, one at the end


def test_gate_takes_an_empty_status_for_no_news(world, tmp_path):
    seq = tmp_path / "status"
    seq.write_text("rxpanel-demo-green  RUNNING  pid 101, uptime 0:00:01\n\n")
    result = world.run(
        health.gate(world.app, "green", free_port(), "/ping", 2.5), SUP_STATUS_SEQ=str(seq)
    )
    assert result.returncode == 1
    assert result.stdout.startswith("not healthy after 2.5s: /ping no answer")
