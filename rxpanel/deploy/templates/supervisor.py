"""The supervisor program of one colour of one app.

A stop drains and is bounded (commands/supervisor.py): TERM to the whole process
group — what Reflex's prod backend stops on, granian's main process and workers
(gunicorn's, when uvicorn and gunicorn are installed, for a graceful stop) —, then
after `drain` seconds KILL to the group. The environment tag marks every process
of the colour, so what left the group is found and killed too."""

from __future__ import annotations

from rxpanel import validate
from rxpanel.deploy.commands.supervisor import TAG

DEFAULT_DRAIN = 10  # seconds a stopping backend gets to finish its requests
# the most an app may ask for (a program keeps the drain it was started with)
MAX_DRAIN = validate.STOP_DRAIN_MAX

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
stopwaitsecs={drain}
stopasgroup=true
killasgroup=true
environment={tag}="{program}"
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
    drain: int = DEFAULT_DRAIN,
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
        drain=min(max(1, int(drain)), MAX_DRAIN),
        tag=TAG,
    )
