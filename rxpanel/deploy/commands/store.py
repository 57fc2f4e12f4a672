"""The app's state store: one Redis per app on each server, shared by its blue and
green colours, so a tab's state survives the switch (and a reload) to the other colour.

It runs under supervisord as the app's own user (program rxpanel-<app>-redis), on a
Unix socket in shared/.redis/ (0700, the app user's: no TCP port, no other app can
reach it), with a password the panel made and keeps encrypted. The password is in
the config file (0600) and the app's env file, never on a command line: the ping
reads it from the config on the server."""

from __future__ import annotations

from urllib.parse import quote

from rxpanel.deploy.commands import account
from rxpanel.deploy.commands.base import AppLayout, q

MISSING = 97  # exit code: no redis-server on the server
SOCKET_MAX = 100  # a Unix socket path is at most 107 bytes (sun_path)
WAIT_SECONDS = 10
NOT_INSTALLED = (
    "redis-server is not installed on the server: install Debian's redis-server package "
    "(apt-get install redis-server), or turn the app's state store off "
    "(rxpanel app update APP --state-store off; open tabs then lose their state at a deploy)"
)


def url(app: AppLayout, password: str) -> str:
    """REFLEX_REDIS_URL of the app's store (redis-py unquotes the path and password)."""
    return f"unix://:{quote(password, safe='')}@{quote(app.store_socket)}"


def locate() -> str:
    """Print where redis-server is; exit MISSING, saying what to install, if nowhere."""
    return (
        "command -v redis-server || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; } || "
        f"{{ echo {q(NOT_INSTALLED)} >&2; exit {MISSING}; }}"
    )


def ping(app: AppLayout) -> str:
    """Exit 0 when the store answers PONG to its password (read on the server)."""
    conf, sock = q(app.store_conf), q(app.store_socket)
    line = (
        f"REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' {conf})\" "
        f"redis-cli -s {sock} ping 2>/dev/null | grep -qx PONG"
    )
    return account.as_app(app, line)


def wait(app: AppLayout, seconds: int = WAIT_SECONDS) -> str:
    tries = int(seconds * 5)
    said = q(f"the state store (Redis) did not answer within {seconds} s: see {app.logs}/redis.log")
    return (
        f"i=0; until {ping(app)}; do i=$((i+1)); "
        f"[ $i -lt {tries} ] || {{ echo {said} >&2; exit 1; }}; sleep 0.2; done"
    )


def current(app: AppLayout, conf_sha: str, program_sha: str) -> str:
    """Exit 0 when the store needs nothing: its config and its supervisor program are
    what the panel would write (by SHA-256) and it answers. One round trip instead
    of two uploads and a supervisorctl run (a Python start, ~0.3 s) at every deploy."""
    program_conf = f"{app.host.supervisor_conf_dir}/{app.store_program}.conf"
    sums = f"{q(f'{conf_sha}  {app.store_conf}')} {q(f'{program_sha}  {program_conf}')}"
    check = account.as_root(app, f"printf '%s\\n' {sums} | sha256sum --check --status -")
    return f"{check} && {ping(app)}"


def ensure(app: AppLayout, conf_tmp: str, program_tmp: str) -> str:
    """Its dir, its config (restarted when the config changed), its supervisor
    program (added, or started if stopped); then wait until it answers."""
    ctl, prog, tmp = app.host.supervisorctl, app.store_program, q(conf_tmp)
    mkdir = account.as_app(app, f"mkdir -p {q(app.store_dir)} && chmod 0700 {q(app.store_dir)}")
    same = account.as_root(app, f"cmp -s {tmp} {q(app.store_conf)}")
    put = account.hand_over(app, conf_tmp, app.store_conf)
    program_conf = f"{app.host.supervisor_conf_dir}/{prog}.conf"
    return " && ".join(
        [
            mkdir,
            f"if {same}; then rm -f {tmp}; fresh=0; else {put} || exit 1; fresh=1; fi",
            app.host.priv(f"install -m 0644 {q(program_tmp)} {q(program_conf)}"),
            f"rm -f {q(program_tmp)}",
            f'{{ out=$({ctl("update", prog)} 2>&1); rc=$?; [ -z "$out" ] || echo "$out"; [ $rc = 0 ]; }}',
            f'case "$out" in *"updated process group"*|*"added process group"*) ;; '
            f"*) if [ $fresh = 1 ]; then {ctl('restart', prog)} >/dev/null; "
            f"else {ctl('start', prog)} 2>&1 | grep -v 'already started' || true; fi ;; esac",
            wait(app),
        ]
    )


def remove(app: AppLayout) -> str:
    """When the app is deleted: stop its store and drop its program (its data goes
    with shared/)."""
    prog = app.store_program
    conf = f"{app.host.supervisor_conf_dir}/{prog}.conf"
    return (
        f"{{ {app.host.supervisorctl('stop', prog)} >/dev/null 2>&1 || true; "
        f"{app.host.priv(f'rm -f {q(conf)}')}; }}"
    )


def flush(app: AppLayout) -> str:
    """Clear the app's stored state: its Redis holds only this app, so FLUSHDB of its
    one database is every open tab's state, nothing else (the password read on the
    server, as for the ping). Exit non-zero unless Redis said OK."""
    conf, sock = q(app.store_conf), q(app.store_socket)
    line = (
        f"REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' {conf})\" "
        f"redis-cli -s {sock} flushdb | grep -qx OK"
    )
    return account.as_app(app, line)
