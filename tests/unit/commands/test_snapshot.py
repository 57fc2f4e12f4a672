"""deploy/commands/snapshot.py: a copy of each shared SQLite database before a
migration (exact string, syntax, behaviour with the real python3 and sqlite3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rxpanel import validate
from rxpanel.deploy.commands import q, snapshot

from ._support import APP, RID, SHELLS, as_demo, assert_syntax, syntax_cases

EXACT = [
    pytest.param(
        snapshot.before_migrate(APP, RID, ["reflex.db", "data/a b.db"]),
        as_demo(
            f"if [ -d /srv/rxpanel/demo/releases/{RID}/backend/alembic ]; then "
            f"python3 -c {q(snapshot.SNAPSHOT)} /srv/rxpanel/demo/shared {RID} 5 "
            "reflex.db 'data/a b.db'; else echo 'no alembic/ in the app: no snapshot'; fi"
        ),
        id="snapshot.before_migrate",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    return {"snapshot.before_migrate": snapshot.before_migrate(app, RID, ["x.db", "it's.db"])}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


def test_databases_by_name():
    assert snapshot.databases(["a.db", "b.sqlite", "c.sqlite3", "notes.txt"]) == (
        "a.db",
        "b.sqlite",
        "c.sqlite3",
    )


def rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("select count(*) from t").fetchone()[0]


def test_a_snapshot_per_migration_the_newest_five_kept(world):
    shared = Path(world.app.shared)
    (shared / "data").mkdir(parents=True)
    with sqlite3.connect(shared / "data/my db.db") as conn:
        conn.execute("create table t (x)")
        conn.execute("insert into t values (1)")
    ids = [f"20261121T1801{n:02d}-ab12cd" for n in range(7)]
    for rid in ids:
        Path(world.app.release(rid), "backend/alembic").mkdir(parents=True)
        result = world.run(snapshot.before_migrate(world.app, rid, ["data/my db.db", "none.db"]))
        assert result.returncode == 0, result.stderr
        assert "no data in none.db yet: no snapshot" in result.stdout
    kept = sorted(p.name for p in (shared / ".snapshots").iterdir())
    assert len(kept) == 5
    assert [k.split("-")[0] for k in kept] == [rid.split("-")[0] for rid in ids[2:]]
    assert all(k.endswith("-data__my db.db") for k in kept)
    assert rows(shared / ".snapshots" / kept[-1]) == 1


def test_no_migrations_no_snapshot(world):
    shared = Path(world.app.shared)
    shared.mkdir(parents=True)
    (shared / "reflex.db").write_text("")
    Path(world.app.release(RID), "backend").mkdir(parents=True)
    result = world.run(snapshot.before_migrate(world.app, RID, ["reflex.db"]))
    assert (result.returncode, result.stdout) == (0, "no alembic/ in the app: no snapshot\n")
    assert not (shared / ".snapshots").exists()


SNAP = "20261121T180102-ab12cd-20261201T235000Z-data__a b.db"


def test_restore_and_list_exact_strings():
    assert snapshot.list_all(APP) == as_demo(
        "ls -1 /srv/rxpanel/demo/shared/.snapshots 2>/dev/null | grep -v '[.]part$' || true"
    )
    assert snapshot.file_of(SNAP) == "data/a b.db"
    assert snapshot.restore(APP, SNAP) == as_demo(
        f"python3 -c {q(snapshot.RESTORE)} /srv/rxpanel/demo/shared '{SNAP}' 'data/a b.db'"
    )


@pytest.mark.parametrize("shell", SHELLS)
def test_restore_syntax(shell):
    assert_syntax(shell, "snapshot.restore", snapshot.restore(APP, SNAP))
    assert_syntax(shell, "snapshot.list_all", snapshot.list_all(APP))


@pytest.mark.parametrize(
    "bad", ["", "x", f"{SNAP}/../x", "20261121T180102-ab12cd-20261201T235000Z-..__x.db", "a;b"]
)
def test_snapshot_names_are_validated(bad):
    with pytest.raises(validate.ValidationError):
        validate.snapshot_name(bad)


def test_a_snapshot_is_listed_and_restored(world):
    shared = Path(world.app.shared)
    shared.mkdir(parents=True)
    db = shared / "reflex.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (x)")
        conn.execute("insert into t values (1)")
    Path(world.app.release(RID), "backend/alembic").mkdir(parents=True)
    assert world.run(snapshot.before_migrate(world.app, RID, ["reflex.db"])).returncode == 0
    with sqlite3.connect(db) as conn:  # a migration that went wrong
        conn.execute("delete from t")
    [name] = world.run(snapshot.list_all(world.app)).stdout.split()
    assert validate.snapshot_name(name) == name
    result = world.run(snapshot.restore(world.app, name))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"reflex.db restored from .snapshots/{name}\n"
    assert rows(db) == 1
    missing = world.run(snapshot.restore(world.app, name.replace("Z-", "Z-x")))
    assert missing.returncode == 1 and "no snapshot" in missing.stderr


def test_a_restore_says_which_alembic_revision_the_database_is_back_at(world):
    shared = Path(world.app.shared)
    shared.mkdir(parents=True)
    db = shared / "reflex.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table alembic_version (version_num varchar(32) primary key)")
        conn.execute("insert into alembic_version values ('a1')")
    Path(world.app.release(RID), "backend/alembic").mkdir(parents=True)
    assert world.run(snapshot.before_migrate(world.app, RID, ["reflex.db"])).returncode == 0
    with sqlite3.connect(db) as conn:  # the migration the snapshot was taken for
        conn.execute("update alembic_version set version_num = 'b2'")
    [name] = world.run(snapshot.list_all(world.app)).stdout.split()
    result = world.run(snapshot.restore(world.app, name))
    assert result.stdout.splitlines() == [
        f"reflex.db restored from .snapshots/{name}",
        "alembic revision: a1",
    ]
