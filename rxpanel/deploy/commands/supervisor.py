"""Starting and stopping an app's colour under supervisord."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q

PORT_BUSY = 98  # like EADDRINUSE: the colour's port is held by another process


def port_listening(port: int) -> str:
    """Exit 0 when something listens on the TCP port (read from /proc: no Python start-up)."""
    return (
        "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
        f"awk '$4 == \"0A\" && $2 ~ /:{int(port):04X}$/ {{found=1}} END {{exit !found}}'"
    )


def start(app: AppLayout, color: str, port: int, conf_tmp: str) -> str:
    """Stop the idle colour, make sure its port is free (so the health gate cannot
    be answered by a stranger), install its program config and start it.

    `update` rereads the config and restarts the program when it changed; only
    when nothing changed (the same release on the same colour) is `start` needed."""
    prog, ctl, port = app.program(color), app.host.supervisorctl, int(port)
    return " && ".join(
        [
            f"{{ {ctl('stop', prog)} >/dev/null 2>&1 || true; }}",
            f"{{ ! {{ {port_listening(port)}; }} || "
            f"{{ echo 'port {port} is in use by another process on the server' >&2; "
            f"exit {PORT_BUSY}; }}; }}",
            app.host.priv(f"install -m 0644 {q(conf_tmp)} {q(app.program_conf(color))}"),
            f"rm -f {q(conf_tmp)}",
            # supervisord (often root) owns the log it writes
            app.host.priv(f"truncate -s 0 {q(app.program_log(color))}"),
            f'{{ out=$({ctl("update", prog)} 2>&1); rc=$?; [ -z "$out" ] || echo "$out"; [ $rc = 0 ]; }}',
            f'case "$out" in *"updated process group"*|*"added process group"*) ;; '
            f"*) {ctl('start', prog)} 2>&1 | grep -v 'already started' || true ;; esac",
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


def first_free_port(candidates: list[int]) -> str:
    """Print the first candidate port nothing listens on (exit 1 if none)."""
    ports = " ".join(str(int(p)) for p in candidates)
    return (
        'busy=" $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | '
        "awk '$4 == \"0A\" {split($2, a, \":\"); print a[2]}' | tr '\\n' ' ') \"; "
        f"for p in {ports}; do h=$(printf '%04X' \"$p\"); "
        'case "$busy" in *" $h "*) ;; *) echo "$p"; exit 0 ;; esac; done; exit 1'
    )
