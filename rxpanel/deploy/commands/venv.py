"""The server-side virtualenv for one requirements hash: made once, never rebuilt."""

from __future__ import annotations

from rxpanel.deploy.commands import account
from rxpanel.deploy.commands.base import AppLayout, q

DONE = ".rxpanel-complete"


def requirements_path(app: AppLayout, req_hash: str) -> str:
    return f"{app.venvs}/{req_hash}.requirements.txt"


def staged_requirements(app: AppLayout, req_hash: str) -> str:
    """Where the login uploads them (tmp/ is its own), before the app user gets them."""
    return f"{app.tmp}/{req_hash}.requirements.txt"


def ensure(app: AppLayout, req_hash: str) -> str:
    """Create venvs/<hash> from the uploaded requirements unless it is complete.

    Built in place (a renamed venv breaks its scripts' shebangs); a marker file
    written last tells a complete venv from a half-made one. Made by the app's
    user: pip runs the packages' build scripts, which are the app's choice."""
    venv = app.venv(req_hash)
    done = q(f"{venv}/{DONE}")
    staged, path = staged_requirements(app, req_hash), requirements_path(app, req_hash)
    return f"{account.hand_over(app, staged, path)} && " + account.as_app(
        app,
        f"if [ -f {done} ]; then echo 'server venv exists'; else "
        f"rm -rf {q(venv)} && python3 -m venv {q(venv)} && "
        f"{q(venv + '/bin/pip')} install --disable-pip-version-check --no-input "
        f"--progress-bar off -r {q(requirements_path(app, req_hash))} && "
        f"touch {done} && echo 'server venv created'; fi",
    )


def exists(app: AppLayout, req_hash: str) -> str:
    return f"test -f {q(app.venv(req_hash) + '/' + DONE)}"


def migrate(app: AppLayout, release_id: str, req_hash: str) -> str:
    """Run `reflex db migrate` in the release when the app has alembic/."""
    rel = app.release(release_id)
    return account.as_app(
        app,
        f"if [ -d {q(rel + '/backend/alembic')} ]; then "
        f"cd {q(rel + '/backend')} && set -a && . {q(rel + '/env')} && set +a && "
        f"{q(app.venv(req_hash) + '/bin/reflex')} db migrate; "
        f"else echo 'no alembic/ in the app: no migrations'; fi",
    )
