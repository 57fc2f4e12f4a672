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


def schedule_stop(app: AppLayout, color: str, release_id: str, seconds: float) -> str:
    lock, marker = q(app.lock), q(app.standby_marker)
    expect = q(f"{color} {release_id}")
    script = (
        f"sleep {max(0, int(seconds))}; n=0; "
        f"while [ $n -lt 720 ]; do "
        f"if mkdir {lock} 2>/dev/null; then echo standby-stop > {lock}/owner; "
        f'if [ "$(cat {marker} 2>/dev/null)" = {expect} ]; then '
        f"{app.host.supervisorctl('stop', app.program(color))}; rm -f {marker}; fi; "
        f"rm -rf {lock}; exit 0; fi; n=$((n+1)); sleep 5; done"
    )
    # In its own subshell: in `a && b &` the `&` would background the whole list,
    # which keeps the SSH channel open until the timer ends.
    return f"( setsid nohup sh -c {q(script)} >/dev/null 2>&1 < /dev/null & )"
