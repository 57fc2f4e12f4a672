"""The health gate, run on the server itself against the new colour's port."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q

# argv: port path timeout [supervisorctl words... status program]
# A crash at start shows in supervisor's status; asking costs a supervisorctl
# start-up (~0.15 CPU s), so it is asked every 2 s and only while the port is
# silent: a healthy start answers within about a second and never asks.
# A process that dies after supervisor's startsecs counts as started and is
# restarted at once (autorestart), so a sample may only ever see RUNNING: a new
# pid, STARTING after a pid was seen, or an uptime shorter than the gate has
# been waiting (the first sample may have caught it STARTING, with no pid) is a
# crash as well. The time running out without an answer gets one last sample.
GATE = r"""
import subprocess, sys, time, urllib.error, urllib.request
port, path, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
status_cmd = sys.argv[4:]
url = "http://127.0.0.1:%d%s" % (port, path)

def uptime(words):
    # "uptime 0:01:02" -> 62; "uptime 1 day, 0:01:02" is long enough: None
    if "uptime" not in words[:-1] or "day" in words or "days" in words:
        return None
    h, _, rest = words[words.index("uptime") + 1].partition(":")
    m, _, sec = rest.partition(":")
    return int(h) * 3600 + int(m) * 60 + int(sec) if (h + m + sec).isdigit() else None

def crashed():
    # "<program> <state>" when supervisor's status shows a crash, else None
    global pid
    out = subprocess.run(status_cmd, capture_output=True, text=True).stdout
    words = out.replace(",", " ").split()
    if len(words) < 2:  # supervisorctl said nothing useful this time
        return None
    seen = words[words.index("pid") + 1] if "pid" in words[:-1] else None
    up = uptime(words)
    restarted = pid is not None and (seen != pid or "STARTING" in words)
    restarted = restarted or (up is not None and up + 3 < time.monotonic() - started)
    if restarted or any(s in out for s in ("FATAL", "BACKOFF", "EXITED")):
        return "%s %s" % (words[0], "restarted" if restarted and "STARTING" not in words else words[1])
    pid = seen or pid
    return None

started = time.monotonic()
deadline, last, next_status, pid = started + timeout, "no answer yet", started + 2, None
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
            state = crashed()
            if state:
                print("the app process crashed at start: %s" % state)
                sys.exit(1)
    time.sleep(0.05)
# A start slowed down by load may crash only as the time runs out: ask once more,
# so that it is still reported as the crash it is, not as a silent port.
state = crashed() if status_cmd and last.startswith("no answer") else None
if state:
    print("the app process crashed at start: %s" % state)
    sys.exit(1)
print("not healthy after %gs: %s %s" % (timeout, path, last))
sys.exit(1)
"""


def gate(app: AppLayout, color: str, port: int, path: str, timeout: float) -> str:
    status = app.host.supervisorctl("status", app.program(color))
    return f"python3 -c {q(GATE)} {int(port)} {q(path)} {float(timeout):g} {status}"
