"""Commands made of other builders, as the steps send them in one round trip."""

from __future__ import annotations

import math

from rxpanel.deploy.commands import account, lock, nginx, release, standby, supervisor
from rxpanel.deploy.commands.base import AppLayout, q


def remove_stale_lock(app: AppLayout) -> str:
    """A lock left by a deployment that has finished (its process died)."""
    return f"rm -rf {q(app.lock)}"


def start_fresh(app: AppLayout, color: str, port: int, conf_tmp: str) -> str:
    """The colour is no longer a warm standby: forget the marker, then start it."""
    return f"{standby.clear(app)} && {supervisor.start(app, color, port, conf_tmp)}"


def switch(app: AppLayout, site_tmp: str, release_id: str, color: str, server_name: str) -> str:
    """The new nginx site (tested, the old one kept on failure), then `current`."""
    site = nginx.install_site(app, site_tmp, server_name)
    return f"{site} && {release.activate(app, release_id, color)}"


def finish(
    app: AppLayout,
    standby_of: tuple[str, str] | None,
    gone: list[str],
    keep_venvs: list[str],
) -> str:
    """After a switch: mark the old colour as the warm standby (colour, release),
    remove the releases retention gave up and the venvs no kept release uses."""
    commands = []
    if standby_of is not None:
        commands.append(standby.mark(app, *standby_of))
    commands += [release.remove(app, sorted(gone)), release.remove_venvs_except(app, keep_venvs)]
    return " && ".join(commands)


def cut_over(app: AppLayout, color: str, port: int, drain: float) -> str:
    """Give the old colour's open connections (tabs' websockets through nginx's old
    workers) up to `drain` seconds to end, looking every half second; then restart
    the colour if some are still open. Its websockets close, the tabs reconnect
    through nginx to the live colour; it comes back warm, with no traffic, for an
    instant rollback. With no connection left there is nothing to move."""
    ctl, prog, count = app.host.supervisorctl, app.program(color), supervisor.connections(port)
    return (
        f"i={math.ceil(drain * 2)}; "  # half-second looks
        f'while n=$({count}); [ "$n" -gt 0 ] && [ "$i" -gt 0 ]; do sleep 0.5; i=$((i - 1)); done; '
        f'if [ "$n" = 0 ]; then echo "no open connections"; '
        f"elif {ctl('status', prog)} 2>/dev/null | grep -q RUNNING; then "
        f'{ctl("restart", prog)} >/dev/null && echo "restarted with $n open"; '
        "else echo 'not running'; fi"
    )


def remove_site_if_present(app: AppLayout) -> str:
    return f"{{ [ ! -f {q(app.site_conf)} ] || {nginx.remove_site(app)}; }}"


def delete_app_files(app: AppLayout) -> str:
    """Everything of the app on the server, its lock included, and its Unix user."""
    return f"{account.as_root(app, f'rm -rf {q(app.dir)}')} && {account.remove_user(app)}"


def stop_standby(app: AppLayout, color: str, release_id: str) -> str:
    """The panel's standby timer: under the app lock (owner "standby-stop", which a
    deploy waits for), stop the colour only if it is still the standby that switch
    recorded. Exits LOCKED_EXIT, touching nothing, while someone else holds the lock."""
    lk, marker, expect = q(app.lock), q(app.standby_marker), q(f"{color} {release_id}")
    return (
        f"if mkdir {lk} 2>/dev/null; then echo {q(standby.STOP_OWNER)} > {lk}/owner; "
        f'if [ "$(cat {marker} 2>/dev/null)" = {expect} ]; then '
        f"{supervisor.stop(app, color)}; rm -f {marker}; fi; "
        f"rm -rf {lk}; else exit {lock.LOCKED_EXIT}; fi"
    )
