"""deploy/commands/shared.py: release paths linked to <app>/shared/ (exact strings,
syntax, behaviour: the first deploy seeds, the next keeps the data), and the
validator that refuses a path outside the app before any command is built."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rxpanel import validate
from rxpanel.deploy.commands import shared, venv
from rxpanel.deploy.templates.release import render_env_file

from ._support import (
    APP,
    HASH,
    RID,
    RID2,
    SHELLS,
    as_demo,
    assert_syntax,
    syntax_cases,
    write_script,
)

REL = f"/srv/rxpanel/demo/releases/{RID}/backend"
SH = "/srv/rxpanel/demo/shared"

EXACT = [
    pytest.param(
        shared.link(APP, RID, ["reflex.db"]),
        as_demo(
            f"cd {REL} && mkdir -p {SH} && if [ ! -e {SH}/reflex.db ]; then "
            f"if [ -f reflex.db ] && [ ! -L reflex.db ]; then cp -p reflex.db {SH}/reflex.db; "
            f"else : > {SH}/reflex.db; fi; fi && rm -rf reflex.db && ln -s {SH}/reflex.db reflex.db"
        ),
        id="shared.link-file",
    ),
    pytest.param(
        shared.link(APP, RID, ["data/my notes's.db", "uploaded_files/"]),
        as_demo(
            f"cd {REL} && mkdir -p {SH}/data data && "
            f"if [ ! -e '{SH}/data/my notes'\"'\"'s.db' ]; then "
            f"if [ -f 'data/my notes'\"'\"'s.db' ] && [ ! -L 'data/my notes'\"'\"'s.db' ]; then "
            f"cp -p 'data/my notes'\"'\"'s.db' '{SH}/data/my notes'\"'\"'s.db'; "
            f"else : > '{SH}/data/my notes'\"'\"'s.db'; fi; fi && "
            f"rm -rf 'data/my notes'\"'\"'s.db' && "
            f"ln -s '{SH}/data/my notes'\"'\"'s.db' 'data/my notes'\"'\"'s.db' && "
            f"mkdir -p {SH} && if [ ! -e {SH}/uploaded_files ]; then "
            f"if [ -d uploaded_files ] && [ ! -L uploaded_files ]; then "
            f"cp -Rp uploaded_files {SH}/uploaded_files; else mkdir {SH}/uploaded_files; fi; fi && "
            f"rm -rf uploaded_files && ln -s {SH}/uploaded_files uploaded_files"
        ),
        id="shared.link-quoted-and-dir",
    ),
    pytest.param(shared.uploads_dir(APP), f"{SH}/uploaded_files", id="shared.uploads_dir"),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    paths = ["reflex.db", 'a b/it\'s "q".db', "uploaded_files/", "media/x/"]
    return {"shared.link": shared.link(app, RID, paths)}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


def test_split_keeps_order_and_drops_repeats():
    assert shared.split(["a.db", "up/", "a.db", "b/c.db", "up/"]) == (("a.db", "b/c.db"), ("up",))


@pytest.mark.parametrize(
    "bad",
    [
        "/etc/passwd",
        "../x.db",
        "a/../../x",
        "-rf",
        "a/-x",
        "",
        ".",
        "a//b",
        "x;rm",
        "$(id)",
        "a\nb",
        "*.db",
        "home/",
        ".snapshots/x",
        " a.db",
        "a\\b",
        "~/x/../y",
    ],
)
def test_the_validator_refuses_paths_outside_the_app(bad):
    with pytest.raises(validate.ValidationError):
        validate.shared_path(bad)
    with pytest.raises(validate.ValidationError):
        shared.link(APP, RID, ["ok.db", bad])  # before any command is built


def test_the_operator_list():
    assert validate.shared_paths(" notes.db, media/  data/x.db,notes.db ") == (
        "notes.db media/ data/x.db"
    )
    assert validate.shared_paths("") == ""
    with pytest.raises(validate.ValidationError):
        validate.shared_paths("ok.db, ../escape.db")


def deploy(world, rid: str, ships: dict[str, str], paths: list[str]) -> Path:
    back = Path(world.app.release(rid), "backend")
    back.mkdir(parents=True)
    for name, text in ships.items():
        (back / name).parent.mkdir(parents=True, exist_ok=True)
        (back / name).write_text(text)
    result = world.run(shared.link(world.app, rid, paths))
    assert result.returncode == 0, result.stderr
    return back


PATHS = ["reflex.db", 'data/it\'s "my" notes.db', "uploaded_files/", "media/"]


def test_the_first_deploy_seeds_and_the_next_keeps_the_data(world):
    shared_dir = Path(world.app.shared)
    v1 = deploy(world, RID, {"reflex.db": "committed", "media/logo.png": "png"}, PATHS)
    for path in PATHS:
        link = v1 / path.rstrip("/")
        assert link.is_symlink(), path
        assert os.readlink(link) == f"{shared_dir}/{path.rstrip('/')}"
    assert (shared_dir / "reflex.db").read_text() == "committed"  # seeded from the release
    assert (shared_dir / 'data/it\'s "my" notes.db').read_text() == ""  # made empty
    assert (shared_dir / "media/logo.png").read_text() == "png"
    assert (shared_dir / "uploaded_files").is_dir()

    (v1 / "reflex.db").write_text("3 rows")  # the running release writes its data
    (v1 / "uploaded_files/photo.jpg").write_text("jpg")

    v2 = deploy(world, RID2, {"reflex.db": "committed", "media/logo.png": "new"}, PATHS)
    assert (v2 / "reflex.db").read_text() == "3 rows"  # never overwritten by the release
    assert (v2 / "uploaded_files/photo.jpg").read_text() == "jpg"
    assert (v2 / "media/logo.png").read_text() == "png"
    assert (v1 / "reflex.db").read_text() == "3 rows"  # a rollback to v1 sees it too

    world.run(f"rm -rf '{world.app.release(RID)}'")  # retention removes v1
    assert (shared_dir / "reflex.db").read_text() == "3 rows"
    assert (v2 / "uploaded_files/photo.jpg").read_text() == "jpg"


def test_migrations_run_against_the_linked_database(world):
    """`reflex db migrate` runs in the release's backend dir: after the link step,
    what it writes to the relative reflex.db lands in shared/."""
    back = deploy(world, RID, {"alembic/env.py": ""}, ["reflex.db", "uploaded_files/"])
    env = render_env_file(
        {}, "http://x", {"REFLEX_UPLOADED_FILES_DIR": shared.uploads_dir(world.app)}
    )
    (back.parent / "env").write_text(env)
    reflex = Path(world.app.venv(HASH), "bin", "reflex")
    reflex.parent.mkdir(parents=True)
    write_script(
        reflex,
        "#!/bin/sh\necho migrated >> reflex.db\nprintf '%s\\n' \"$REFLEX_UPLOADED_FILES_DIR\"\n",
    )
    result = world.run(venv.migrate(world.app, RID, HASH))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{world.app.shared}/uploaded_files\n"
    assert Path(world.app.shared, "reflex.db").read_text() == "migrated\n"


def test_the_app_env_may_name_its_own_upload_dir():
    text = render_env_file(
        {"REFLEX_UPLOADED_FILES_DIR": "/data/up"},
        "http://x",
        {"REFLEX_UPLOADED_FILES_DIR": "/srv/rxpanel/demo/shared/uploaded_files"},
    )
    assert text.splitlines()[0] == "REFLEX_UPLOADED_FILES_DIR=/data/up"
