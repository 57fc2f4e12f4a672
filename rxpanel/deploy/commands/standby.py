"""The warm standby: the old colour stays up after a switch, then is stopped.

The marker on the server says which colour and release is the standby. The stop
is a job of the panel's scheduler (commands.composite.stop_standby), which takes
the app lock as STOP_OWNER and stops the colour only if the marker still names it."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q

STOP_OWNER = "standby-stop"  # the lock owner a deploy waits for


def mark(app: AppLayout, color: str, release_id: str) -> str:
    return f"printf '%s %s\\n' {q(color)} {q(release_id)} > {q(app.standby_marker)}"


def clear(app: AppLayout) -> str:
    return f"rm -f {q(app.standby_marker)}"


def read(app: AppLayout) -> str:
    return f"cat {q(app.standby_marker)} 2>/dev/null || true"
