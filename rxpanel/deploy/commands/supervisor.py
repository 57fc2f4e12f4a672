"""Starting and stopping an app's colour under supervisord."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q

PORT_FREE = (
    "import socket,sys;s=socket.socket();"
    "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('127.0.0.1',int(sys.argv[1])));s.close()"
)


def start(app: AppLayout, color: str, port: int, conf_tmp: str) -> str:
    """Stop the idle colour, make sure its port is free (so the health gate cannot
    be answered by a stranger), install its program config and start it."""
    prog, ctl = app.program(color), app.host.supervisorctl
    return " && ".join(
        [
            f"{{ {ctl('stop', prog)} >/dev/null 2>&1 || true; }}",
            f"{{ python3 -c {q(PORT_FREE)} {int(port)} 2>/dev/null || "
            f"{{ echo 'port {int(port)} is in use by another process on the server' >&2; exit 1; }}; }}",
            app.host.priv(f"install -m 0644 {q(conf_tmp)} {q(app.program_conf(color))}"),
            f"rm -f {q(conf_tmp)}",
            # supervisord (often root) owns the log it writes
            app.host.priv(f"truncate -s 0 {q(app.program_log(color))}"),
            f"{ctl('reread')} >/dev/null",
            f"{ctl('update', prog)}",
            f"{{ {ctl('start', prog)} 2>&1 | grep -v 'already started' || true; }}",
        ]
    )


def stop(app: AppLayout, color: str) -> str:
    return f"{app.host.supervisorctl('stop', app.program(color))} || true"


def status(app: AppLayout, color: str) -> str:
    return f"{app.host.supervisorctl('status', app.program(color))} || true"


def remove(app: AppLayout) -> str:
    """Stop both colours and drop their configs (used when an app is deleted)."""
    ctl, parts = app.host.supervisorctl, []
    for color in ("blue", "green"):
        parts.append(f"{ctl('stop', app.program(color))} >/dev/null 2>&1 || true")
        parts.append(app.host.priv(f"rm -f {q(app.program_conf(color))}"))
    parts.append(f"{ctl('update')} >/dev/null 2>&1 || true")
    return "{ " + "; ".join(parts) + "; }"
