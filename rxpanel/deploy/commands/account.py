"""One Unix user per app on each server (rxa-<app>), when the login is root or has sudo.

The app's processes, its server venv installs and its migrations run as that user.
Who may read what:
- releases/<id>/backend, env, run.sh: the app user only (mode 0700/0600);
- releases/<id>/frontend: nginx's group (0750), which serves it;
- shared/ and venvs/: owned by the app user, 0700: its data and what pip built;
- tmp/ (config staging, uploads), logs/, the markers and `current`: the login's,
  not writable by any app;
- <app>/, releases/, releases/<id>/: 0751, so nginx and the app can pass through
  to their own parts while nobody lists them.
Root (or the login through sudo) reads all of it, as the deploy must.

Without root or sudo every app runs as the login (Host.isolated is False): these
commands then change nothing, and the deploy log says what isolation is missing."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q
from rxpanel.deploy.commands.check import nginx_user, reaches

MARK = "rxpanel app"  # the GECOS field of the users rxpanel made: "rxpanel app <name>"


def ensure_user(app: AppLayout) -> str:
    """Make the app's user (a system user with its own group, no login shell), or
    check that the one there is ours; then give it its dirs and check it can reach them."""
    if not app.host.isolated:
        return "true"
    user, mark = app.unix_user, f"{MARK} {app.app}"
    # one deploy at a time looks for and makes users on this host (two apps, or two
    # "servers" sharing one /etc/passwd, must not both make it)
    script = (
        f"exec 9>/etc/.rxpanel-users.lock && flock 9 || exit 1\n"
        f"if ent=$(getent passwd {q(user)}); then "
        f'case "$ent" in *:{q(mark)}:*) ;; *) '
        f"echo {q(f'a Unix user {user} exists on the server that rxpanel did not make: remove it or rename the app')} >&2; "
        "exit 1 ;; esac; "
        f"else useradd --system --user-group --no-create-home --home-dir {q(app.home)} "
        f"--shell /usr/sbin/nologin --comment {q(mark)} {q(user)} || exit 1; "
        f"echo {q(f'made the Unix user {user} for the app')}; fi\n"
        f"mkdir -p {q(app.venvs)} {q(app.shared)} {q(app.home)} || exit 1\n"
        + own_dirs(app)
        + f"uid=$(id -u {q(user)}); name={q(user)}\n"
        + reaches(app.dir, "the app")
        + "\n"
    )
    return app.host.as_root(script)


def own_dirs(app: AppLayout) -> str:
    """The app dir's modes and owners (see the module doc); what the login made in
    shared/ or venvs/ (seeded data, a venv from before) is handed to the app user."""
    user = q(app.unix_user)
    mine = " ".join(q(d) for d in (app.shared, app.venvs))
    return (
        f"chmod 0751 {q(app.dir)} {q(app.releases)} && "
        f"chmod 0700 {q(app.tmp)} {q(app.logs)} {mine} && "
        f"find {mine} ! -user {user} -exec chown -h {user}:{user} {{}} + || exit 1\n"
    )


def own_release(app: AppLayout, release_id: str) -> str:
    """The release's backend, env and launcher to the app user; its frontend (when
    there) to nginx's group. Idempotent: a rollback to a release from before runs it too."""
    if not app.host.isolated:
        return "true"
    rel, user = app.release(release_id), q(app.unix_user)
    script = (
        f"rel={q(rel)}\n"
        f'chmod 0751 "$rel" && chown -R {user}:{user} "$rel/backend" "$rel/env" "$rel/run.sh" && '
        f'chmod 0700 "$rel/backend" "$rel/run.sh" && chmod 0600 "$rel/env" || exit 1\n'
        f'[ ! -d "$rel/frontend" ] || {{\n{own_frontend_lines(app)}}}\n'
    )
    return app.host.as_root(nginx_user(app.host) + script)


def own_frontend_lines(app: AppLayout) -> str:
    """After nginx_user() set $uid: the frontend of $rel readable by nginx's group only."""
    return (
        f'group=$(id -gn "$uid") && chown -R {q(app.host.user)}:"$group" "$rel/frontend" && '
        'chmod 0750 "$rel/frontend" || exit 1\n'
    )


def own_frontend(app: AppLayout, release_id: str) -> str:
    """Right after the frontend is unpacked (the rest of the release is owned already)."""
    if not app.host.isolated:
        return "true"
    script = f"rel={q(app.release(release_id))}\n" + own_frontend_lines(app)
    return app.host.as_root(nginx_user(app.host) + script)


def as_app(app: AppLayout, line: str) -> str:
    """A command line run as the app's user, with its HOME (pip's and Reflex's caches)."""
    if not app.host.isolated:
        return line
    user, home = q(app.unix_user), q(app.home)
    if app.host.sudo:
        return f"sudo -n -u {user} env HOME={home} sh -c {q(line)}"
    return f"runuser -u {user} -- env HOME={home} sh -c {q(line)}"


def hand_over(app: AppLayout, staged: str, path: str) -> str:
    """A file the login uploaded to tmp/ moved to where the app user reads it."""
    if not app.host.isolated:
        return f"mv -f {q(staged)} {q(path)}"
    user = q(app.unix_user)
    return app.host.as_root(
        f"install -m 0600 -o {user} -g {user} {q(staged)} {q(path)} && rm -f {q(staged)}"
    )


def as_root(app: AppLayout, line: str) -> str:
    """What the login may not do alone once files are the app user's (deleting them)."""
    return app.host.as_root(line) if app.host.isolated else line


def remove_user(app: AppLayout) -> str:
    """When the app is deleted: its user too, if rxpanel made it."""
    if not app.host.isolated:
        return "true"
    user, mark = q(app.unix_user), q(f"{MARK} {app.app}")
    return app.host.as_root(
        f'ent=$(getent passwd {user}) && case "$ent" in *:{mark}:*) '
        f"userdel {user} >/dev/null 2>&1 || true ;; esac; true"
    )
