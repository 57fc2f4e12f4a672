"""Files inside a release directory: the launcher, the env snapshot, the metadata."""

from __future__ import annotations

import json
import shlex

RUN = """\
#!/bin/sh
# rxpanel launcher for release {release} of {app}. Usage: run.sh PORT
set -e
cd {backend}
set -a
. {env}
set +a
export HOME={home}
# Reflex starts its server by name (gunicorn, granian) from the venv
PATH={bin}:$PATH
exec {reflex} run --env prod --backend-only --backend-host 127.0.0.1 --backend-port "$1"
"""


def render_run_script(*, app: str, release: str, release_dir: str, venv: str, home: str) -> str:
    return RUN.format(
        app=app,
        release=release,
        backend=shlex.quote(f"{release_dir}/backend"),
        env=shlex.quote(f"{release_dir}/env"),
        home=shlex.quote(home),
        reflex=shlex.quote(f"{venv}/bin/reflex"),
        bin=shlex.quote(f"{venv}/bin"),
    )


def bare_names(env: dict[str, str]) -> dict[str, str]:
    """REFLEX_X=v as X=v too, for a Reflex that reads only bare names (≤ 0.7.12)."""
    return {k[len("REFLEX_") :]: v for k, v in env.items() if k.startswith("REFLEX_")}


def render_env_file(
    env: dict[str, str], url: str, defaults: dict[str, str] | None = None, bare: bool = False
) -> str:
    """Shell-sourceable KEY='value' lines (keys validated, values quoted);
    `defaults` are rxpanel's own settings, which the app's env may override.
    `bare`: the Reflex settings under their unprefixed names too (the app's own
    win, except the URL)."""
    values = {**(defaults or {}), **env, "REFLEX_API_URL": url, "REFLEX_DEPLOY_URL": url}
    if bare:  # the URL is rxpanel's under either name
        values = {**bare_names(values), **values, "API_URL": url, "DEPLOY_URL": url}
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


def render_release_json(**fields: object) -> str:
    return json.dumps(fields, indent=2, sort_keys=True) + "\n"
