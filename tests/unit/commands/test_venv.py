"""deploy/commands/venv.py: the server venv per requirements hash, migrations
(exact strings, syntax, behaviour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxpanel.deploy.commands import q, venv
from rxpanel.deploy.templates.release import render_env_file

from ._support import (
    APP,
    FAKE_PYTHON3,
    HASH,
    RID,
    SHELLS,
    World,
    as_demo,
    assert_syntax,
    syntax_cases,
    write_script,
)

EXACT = [
    pytest.param(
        venv.ensure(APP, HASH),
        # the login's upload handed to the app user, who makes the venv (pip runs build scripts)
        "install -m 0600 -o rxa-demo -g rxa-demo /srv/rxpanel/demo/tmp/0123abcd.requirements.txt "
        "/srv/rxpanel/demo/venvs/0123abcd.requirements.txt && "
        "rm -f /srv/rxpanel/demo/tmp/0123abcd.requirements.txt && "
        + as_demo(
            "if [ -f /srv/rxpanel/demo/venvs/0123abcd/.rxpanel-complete ]; then echo 'server venv exists'; "
            "else rm -rf /srv/rxpanel/demo/venvs/0123abcd && python3 -m venv /srv/rxpanel/demo/venvs/0123abcd && "
            "/srv/rxpanel/demo/venvs/0123abcd/bin/pip install --disable-pip-version-check --no-input "
            "--progress-bar off -r /srv/rxpanel/demo/venvs/0123abcd.requirements.txt && "
            "touch /srv/rxpanel/demo/venvs/0123abcd/.rxpanel-complete && echo 'server venv created'; fi"
        ),
        id="venv.ensure",
    ),
    pytest.param(
        venv.exists(APP, HASH),
        "test -f /srv/rxpanel/demo/venvs/0123abcd/.rxpanel-complete",
        id="venv.exists",
    ),
    pytest.param(
        venv.requirements_path(APP, HASH),
        "/srv/rxpanel/demo/venvs/0123abcd.requirements.txt",
        id="venv.requirements_path",
    ),
    pytest.param(
        venv.migrate(APP, RID, HASH),
        as_demo(
            f"if [ -d /srv/rxpanel/demo/releases/{RID}/backend/alembic ]; then "
            f"cd /srv/rxpanel/demo/releases/{RID}/backend && set -a && "
            f". /srv/rxpanel/demo/releases/{RID}/env && set +a && "
            "/srv/rxpanel/demo/venvs/0123abcd/bin/reflex db migrate; "
            "else echo 'no alembic/ in the app: no migrations'; fi"
        ),
        id="venv.migrate",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    return {
        "venv.ensure": venv.ensure(app, HASH),
        "venv.exists": venv.exists(app, HASH),
        "venv.migrate": venv.migrate(app, RID, HASH),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


def venv_world(world: World) -> Path:
    pybin = world.tmp / "pybin"
    pybin.mkdir()
    write_script(pybin / "python3", FAKE_PYTHON3.format(calls=q(world.calls_file)))
    Path(world.app.venvs).mkdir(parents=True)
    Path(world.app.tmp).mkdir(parents=True)
    Path(venv.staged_requirements(world.app, HASH)).write_text("reflex\n")
    return pybin


def test_venv_ensure_when_complete_does_nothing(world):
    pybin = venv_world(world)
    done = Path(world.app.venv(HASH), venv.DONE)
    done.parent.mkdir()
    done.touch()
    (done.parent / "keep-me").write_text("x")

    result = world.run(venv.ensure(world.app, HASH), path=[pybin])
    assert (result.returncode, result.stdout) == (0, "server venv exists\n")
    assert world.calls() == []
    assert (done.parent / "keep-me").exists()
    assert world.run(venv.exists(world.app, HASH)).returncode == 0


def test_venv_ensure_rebuilds_a_half_made_venv(world):
    pybin = venv_world(world)
    half = Path(world.app.venv(HASH))
    half.mkdir()
    (half / "junk").write_text("x")
    assert world.run(venv.exists(world.app, HASH)).returncode == 1

    result = world.run(venv.ensure(world.app, HASH), path=[pybin])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "server venv created\n"
    assert not (half / "junk").exists()
    assert (half / venv.DONE).exists()
    assert world.calls() == [
        f"python3 -m venv {half}",
        "pip install --disable-pip-version-check --no-input --progress-bar off "
        f"-r {venv.requirements_path(world.app, HASH)}",
    ]


def test_venv_ensure_failed_install_leaves_no_marker(world):
    pybin = venv_world(world)
    result = world.run(venv.ensure(world.app, HASH), path=[pybin], PIP_EXIT="3")
    assert result.returncode == 3
    assert "server venv created" not in result.stdout
    assert not Path(world.app.venv(HASH), venv.DONE).exists()


def test_migrate(world):
    app = world.app
    rel = Path(app.release(RID))
    (rel / "backend/alembic").mkdir(parents=True)
    value = 'it\'s $HOME; `touch pwned7` "q"'
    (rel / "env").write_text(render_env_file({"DB_URL": value}, "http://app.example.com"))
    reflex = Path(app.venv(HASH), "bin", "reflex")
    reflex.parent.mkdir(parents=True)
    write_script(
        reflex,
        '#!/bin/sh\nprintf \'%s\\n\' "$(pwd)" "$*" "$DB_URL" "$REFLEX_API_URL"\n',
    )
    result = world.run(venv.migrate(app, RID, HASH))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(rel / "backend"),
        "db migrate",
        value,
        "http://app.example.com",
    ]


def test_migrate_without_alembic(world):
    Path(world.app.release(RID), "backend").mkdir(parents=True)
    result = world.run(venv.migrate(world.app, RID, HASH))
    assert (result.returncode, result.stdout) == (0, "no alembic/ in the app: no migrations\n")
