"""Starting and stopping an app's colour under supervisord.

A stop drains, then is bounded: supervisord sends TERM to the colour's whole process
group (the program's stopsignal, stopasgroup), waits the app's drain (stopwaitsecs)
and then KILLs the group (killasgroup). What outlives that — a child that ignored
TERM while the backend itself exited in time, or one that left the group (setsid) —
still carries the colour's tag in its environment (the program's `environment=`,
templates/supervisor.py), and `sweep` KILLs it, as the app's user, right after."""

from __future__ import annotations

from rxpanel.deploy.commands import account
from rxpanel.deploy.commands.base import AppLayout, q

PORT_BUSY = 98  # like EADDRINUSE: the colour's port is held by another process
TAG = "RXPANEL_PROGRAM"  # in the environment of every process of a colour
SWEEP_PASSES = 5  # a process forking while it is killed leaves a child for the next pass


def port_listening(port: int) -> str:
    """Exit 0 when something listens on the TCP port (read from /proc: no Python start-up)."""
    return (
        "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
        f"awk '$4 == \"0A\" && $2 ~ /:{int(port):04X}$/ {{found=1}} END {{exit !found}}'"
    )


def connections(port: int) -> str:
    """Print how many TCP connections to the local port are established (from /proc)."""
    return (
        "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
        f"awk '$4 == \"01\" && $2 ~ /:{int(port):04X}$/ {{n++}} END {{print n+0}}'"
    )


def start(app: AppLayout, color: str, port: int, conf_tmp: str) -> str:
    """Stop the idle colour, make sure its port is free (so the health gate cannot
    be answered by a stranger), install its program config and start it.

    `update` rereads the config and restarts the program when it changed; only
    when nothing changed (the same release on the same colour) is `start` needed."""
    prog, ctl, port = app.program(color), app.host.supervisorctl, int(port)
    return " && ".join(
        [
            f"{{ {stop(app, color)}; }} >/dev/null 2>&1",
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


def tag(app: AppLayout, color: str) -> str:
    """NAME=value that marks the colour's processes (supervisord sets it, children inherit it)."""
    return f"{TAG}={app.program(color)}"


def sweep(app: AppLayout, color: str) -> str:
    """KILL every process still tagged as the colour (after supervisord stopped it).

    Run as the app's user: it can read the environment of, and kill, its own processes
    only, so a tag copied by another app's process cannot make it kill anything else.
    Reads /proc in one `grep`: no process per process. Prints what it killed."""
    found = f"grep -lzxsF {q(tag(app, color))} /proc/[0-9]*/environ | cut -d/ -f3"
    script = (
        f"n=0; for i in {' '.join(str(i) for i in range(1, SWEEP_PASSES + 1))}; do "
        f'pids=$({found}); [ -n "$pids" ] || break; '
        'kill -KILL $pids 2>/dev/null; n=$((n + $(echo $pids | wc -w))); sleep 0.1; done; '
        f'[ "$n" = 0 ] || echo "killed $n process(es) of {app.program(color)} left after the stop"'
    )
    return f"{{ {account.as_app(app, script)}; }} || true"


def stop(app: AppLayout, color: str) -> str:
    """Drain, then bounded (see the module doc): supervisord's stop, then the sweep."""
    return f"{{ {app.host.supervisorctl('stop', app.program(color))} || true; }}; {sweep(app, color)}"


def status(app: AppLayout, color: str) -> str:
    return f"{app.host.supervisorctl('status', app.program(color))} || true"


def remove(app: AppLayout) -> str:
    """Stop both colours and drop their configs (used when an app is deleted)."""
    ctl, parts = app.host.supervisorctl, []
    for color in ("blue", "green"):
        parts.append(f"{{ {stop(app, color)}; }} >/dev/null 2>&1")
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
