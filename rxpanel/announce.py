"""What the panel says when it starts: the URL it serves, and while no admin
exists, the one-time setup token (services.setup). The token goes to a terminal
only; under supervisor or systemd stdout is a log file, so the log says where to
find the token instead of holding it."""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from typing import TextIO

WILDCARDS = {"", "0.0.0.0", "::", "[::]"}
_held: list[int] = []  # the lock of the worker that speaks, held while it lives


def served_url() -> tuple[str, str]:
    """(URL, note): where `reflex run --env prod` listens in this process. Reflex 0.10
    serves the frontend and the backend on one port; `reflex run` hands the port
    and host it chose to its workers through REFLEX_BACKEND_PORT / _HOST."""
    from reflex.config import get_config

    config = get_config()
    host = str(config.backend_host or "0.0.0.0")
    port = config.backend_port or config.frontend_port or 3000
    if host in WILDCARDS:
        return f"http://{socket.gethostname()}:{port}/", f"all interfaces ({host or '0.0.0.0'})"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/", "this address only"


def lines(token: str | None, token_file: str, url: str, note: str, tty: bool) -> list[str]:
    out = [f"rxpanel: serving {url} ({note}; RXPANEL_BIND / RXPANEL_PORT change it)"]
    if token is None:
        return out
    if tty:
        out += [
            "rxpanel: no admin yet. Open the URL above and create one with this setup token:",
            f"rxpanel:     {token}",
            "rxpanel: (`rxpanel setup-token` shows it again; it stops working once an admin exists)",
        ]
    else:
        out.append(
            f"rxpanel: no admin yet: the setup token is in {token_file} "
            "(`rxpanel setup-token` on this host shows it)"
        )
    return out


def _first_worker(home) -> bool:
    """One worker of several says it (the lifespan runs in each of them)."""
    fd = os.open(home / "announce.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _held.append(fd)
    return True


def announce(stream: TextIO | None = None) -> None:
    from rxpanel import settings
    from rxpanel.services import setup

    if not _held and not _first_worker(settings.get().home):
        return
    stream = stream or sys.stdout
    url, note = served_url()
    token = setup.ensure()
    tty = hasattr(stream, "isatty") and stream.isatty()
    for line in lines(token, str(setup.path()), url, note, tty):
        print(line, file=stream, flush=True)
