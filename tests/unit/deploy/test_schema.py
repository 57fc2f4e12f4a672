"""deploy/schema.py: a release's alembic heads and its database kind, read from
the build without running it; server URLs shown without their credentials."""

from __future__ import annotations

import zipfile

import pytest

from rxpanel.deploy import schema


def migration(rev, down, *, annotated=False, labels=None) -> str:
    ann = ": str" if annotated else ""
    down_ann = ": str | Sequence[str] | None" if annotated else ""
    return (
        f'"""a migration\n\nRevision ID: {rev}\n"""\n'
        "from collections.abc import Sequence\n"
        f"revision{ann} = {rev!r}\n"
        f"down_revision{down_ann} = {down!r}\n"
        f"branch_labels = {labels!r}\n"
        "depends_on = None\n\n"
        "def upgrade():\n    revision = 'not-this-one'\n"
    )


def test_one_line_of_migrations_has_its_last_as_head():
    files = [migration("a1", None), migration("b2", "a1", annotated=True), migration("c3", "b2")]
    assert schema.heads(files) == ("c3",)


def test_two_branches_are_two_heads_until_a_merge_joins_them():
    base = [
        migration("a1", None),
        migration("b2", "a1"),
        migration("x9", "a1", labels=("feature",)),  # a labelled branch
    ]
    assert schema.heads(base) == ("b2", "x9")
    merge = migration("m5", ("b2", "x9"))
    assert schema.heads([*base, merge]) == ("m5",)
    assert schema.heads([*base, migration("m5", ["b2", "x9"])]) == ("m5",)


def test_a_branch_label_with_its_own_base_is_a_head_of_its_own():
    files = [migration("a1", None), migration("s1", None, labels="side"), migration("s2", "s1")]
    assert schema.heads(files) == ("a1", "s2")


def test_files_that_name_no_revision_or_do_not_parse_are_skipped():
    assert schema.heads(["x = 1\n", "def (:\n", migration("a1", None)]) == ("a1",)
    assert schema.heads([]) == ()
    assert schema.revision_of("revision = REV\n") == (None, ())


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://app:s3cret@db.internal:5432/shop", "PostgreSQL at db.internal:5432"),
        ("postgres://app:p%40ss@10.0.0.5/shop", "PostgreSQL at 10.0.0.5"),
        ("mysql+pymysql://root:hunter2@mysql.example/app?charset=utf8", "MySQL at mysql.example"),
        ("mariadb://u:p@maria:3307/x", "MySQL at maria:3307"),
        ("postgresql:///shop", "PostgreSQL at localhost"),
        ("sqlite:///reflex.db", None),
        ("sqlite:////var/data/x.db", None),
        ("", None),
        (None, None),
        ("not a url", None),
    ],
)
def test_server_databases_are_named_without_credentials(url, shown):
    assert schema.server_db(url) == shown
    if shown:
        assert "s3cret" not in shown and "app" not in shown.lower().split(" at ")[1]


def test_a_broken_port_does_not_leak_the_url():
    shown = schema.server_db("postgresql://u:secret@db:notaport/x")
    assert shown == "PostgreSQL at an address that could not be read"


RXCONFIG = 'import os\nimport reflex as rx\nconfig = rx.Config(app_name="a", db_url={})\n'


@pytest.mark.parametrize(
    ("db_url", "env", "url"),
    [
        ('"postgresql://u:p@db/a"', {}, "postgresql://u:p@db/a"),
        ('"sqlite:///a.db"', {}, "sqlite:///a.db"),
        ('os.getenv("DB_URL", "sqlite:///a.db")', {"DB_URL": "mysql://u:p@m/a"}, "mysql://u:p@m/a"),
        (
            '"sqlite:///a.db"',
            {"REFLEX_DB_URL": "postgresql://r@pg/a", "DB_URL": "x"},
            "postgresql://r@pg/a",
        ),
        ('"sqlite:///a.db"', {"DB_URL": ""}, "sqlite:///a.db"),
    ],
)
def test_the_env_wins_over_rxconfig(db_url, env, url):
    assert schema.db_url(RXCONFIG.format(db_url), env) == url


def test_of_backend_reads_the_zip(tmp_path):
    backend = tmp_path / "backend.zip"
    with zipfile.ZipFile(backend, "w") as z:
        z.writestr("rxconfig.py", RXCONFIG.format('"postgresql://app:pw@db:5432/a"'))
        z.writestr("alembic/versions/1_a.py", migration("a1", None))
        z.writestr("alembic/versions/2_b.py", migration("b2", "a1"))
        z.writestr("alembic/versions/__pycache__/2_b.cpython-312.pyc", "junk")
        z.writestr("alembic/env.py", migration("zz", None))  # not a migration
        z.writestr("other/alembic/versions/3_c.py", migration("c3", "b2"))
    assert schema.of_backend(backend, {}) == ("b2", "PostgreSQL at db:5432")
    assert schema.of_backend(backend, {"DB_URL": "sqlite:///x.db"}) == ("b2", "")
    assert schema.no_snapshot_note("PostgreSQL at db:5432") == (
        "the database is PostgreSQL at db:5432: rxpanel takes no snapshot; its backups are yours"
    )


def test_a_backend_without_migrations(tmp_path):
    backend = tmp_path / "backend.zip"
    with zipfile.ZipFile(backend, "w") as z:
        z.writestr("app/app.py", "x = 1\n")
    assert schema.of_backend(backend, {}) == ("", "")
