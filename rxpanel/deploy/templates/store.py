"""The state store's files: its Redis config (0600, the app user's) and its
supervisor program (no secret in it: supervisor's conf dir is readable by all)."""

from __future__ import annotations

import shlex


def _quoted(path: str) -> str:
    """A path as a Redis config string (double quotes, backslash escapes)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


CONF = """\
# Managed by rxpanel: the state store of app {app}, shared by its blue and green colours.
port 0
unixsocket {socket}
unixsocketperm 700
dir {dir}
dbfilename state.rdb
save 60 1
appendonly no
daemonize no
supervised no
logfile ""
maxmemory {maxmemory_mb}mb
maxmemory-policy volatile-lru
requirepass {password}
"""

PROGRAM = """\
; Managed by rxpanel: app {app}, its state store (Redis), shared by blue and green.
[program:{program}]
command={server} {conf}
directory={dir}
user={user}
autostart=true
autorestart=true
startsecs=1
startretries=3
stopsignal=TERM
stopwaitsecs=30
redirect_stderr=true
stdout_logfile={log}
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=2
"""


def render_conf(*, app: str, socket: str, dir: str, password: str, maxmemory_mb: int = 256) -> str:
    if not password.isalnum():
        raise ValueError("the store password must be letters and digits")
    return CONF.format(
        app=app,
        socket=_quoted(socket),
        dir=_quoted(dir),
        password=password,
        maxmemory_mb=int(maxmemory_mb),
    )


def render_program(
    *, app: str, program: str, server: str, conf: str, dir: str, user: str, log: str
) -> str:
    return PROGRAM.format(
        app=app,
        program=program,
        server=shlex.quote(server),
        conf=shlex.quote(conf),
        dir=dir,
        user=user,
        log=log,
    )
