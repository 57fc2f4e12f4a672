"""The health gate, run on the server itself against the new colour's port."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q

# argv: port path timeout [supervisorctl words... status program]
# A crash at start shows in supervisor's status; asking costs a supervisorctl
# start-up (~0.15 CPU s), so it is asked every 2 s and only while the port is
# silent: a healthy start answers within about a second and never asks.
GATE = r"""
import subprocess, sys, time, urllib.error, urllib.request
port, path, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
status_cmd = sys.argv[4:]
url = "http://127.0.0.1:%d%s" % (port, path)
started = time.monotonic()
deadline, last, next_status = started + timeout, "no answer yet", started + 2
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            body = r.read(512).decode("utf-8", "replace").strip()
        if path != "/ping" or body == '"pong"':
            print("healthy: %s answered %s" % (path, body[:80]))
            sys.exit(0)
        last = "answered %r instead of \"pong\"" % body[:80]
    except urllib.error.HTTPError as e:
        last = "answered HTTP %d" % e.code
    except Exception as e:
        last = "no answer (%s)" % getattr(e, "reason", e)
        if status_cmd and time.monotonic() >= next_status:
            next_status = time.monotonic() + 2
            out = subprocess.run(status_cmd, capture_output=True, text=True).stdout
            if any(s in out for s in ("FATAL", "BACKOFF", "EXITED")):
                print("the app process crashed at start: %s" % " ".join(out.split()[:2]))
                sys.exit(1)
    time.sleep(0.05)
print("not healthy after %gs: %s %s" % (timeout, path, last))
sys.exit(1)
"""


def gate(app: AppLayout, color: str, port: int, path: str, timeout: float) -> str:
    status = app.host.supervisorctl("status", app.program(color))
    return f"python3 -c {q(GATE)} {int(port)} {q(path)} {float(timeout):g} {status}"
