"""What a deploy (or a hostile input) could have changed on a sandbox server."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path


def server_snapshot(sandbox) -> tuple[int, list[tuple[str, int]]]:
    """What a hostile input could have changed on the server: SSH logins and files."""
    log = (Path(sandbox.dir) / "ssh" / "sshd.log").read_text()
    files = []
    for base in (sandbox.deploy_root, sandbox.nginx_conf_dir, sandbox.supervisor_conf_dir):
        for path in sorted(Path(base).rglob("*")):
            if "/logs/" not in str(path):
                files.append((str(path), path.lstat().st_mtime_ns))
    return log.count("Accepted publickey"), files


def wait_out_standby_stops(basetemp: Path, window: float = 60, settle: float = 20) -> None:
    """Let the standby stops due on the shared sandbox within `window` s happen first.
    Another test's panel keeps running with its scheduler, which stops an app's warm
    standby over SSH once its period ends (15 min after that test deployed): a login
    and changed files that a snapshot of the server would count against the commands
    under test. Sleeps at most window + settle s, once."""
    dues = [d for d in _standby_stops_due(basetemp) if -settle < d <= window]
    if dues:
        time.sleep(max(dues) + settle)


def _standby_stops_due(basetemp: Path) -> list[float]:
    """Seconds until each standby stop of every panel of this session (negative: past due)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    found = []
    for db in {p.resolve() for p in basetemp.glob("*/rxpanel.db")}:  # less the *current links
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
                rows = conn.execute("select due_at from standbystop").fetchall()
        except sqlite3.Error:
            continue
        found += [(datetime.fromisoformat(r[0]) - now).total_seconds() for r in rows]
    return found
