"""The supervisor program of one colour of one app."""

from __future__ import annotations

PROGRAM = """\
; Managed by rxpanel: app {app}, {color} colour, release {release}.
[program:{program}]
command=/bin/sh {release_dir}/run.sh {port}
directory={release_dir}/backend
user={user}
autostart=true
autorestart=true
startsecs=1
startretries=3
stopsignal=TERM
stopwaitsecs=15
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={log}
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
"""


def render_program(
    *,
    app: str,
    program: str,
    color: str,
    release: str,
    release_dir: str,
    port: int,
    user: str,
    log: str,
) -> str:
    return PROGRAM.format(
        app=app,
        program=program,
        color=color,
        release=release,
        release_dir=release_dir,
        port=int(port),
        user=user,
        log=log,
    )
