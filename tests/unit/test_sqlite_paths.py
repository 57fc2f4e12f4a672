"""deploy/sqlite_paths.py: the relative SQLite files an app's rxconfig.py names,
read without running it."""

from __future__ import annotations

import pytest

from rxpanel.deploy.sqlite_paths import db_url_of, relative_file, sqlite_files

CONFIG = 'import reflex as rx\n\nconfig = rx.Config(app_name="demo"{extra})\n'


@pytest.mark.parametrize(
    ("extra", "found"),
    [
        (', db_url="sqlite:///reflex.db"', ("reflex.db",)),
        (', db_url="sqlite:///./data/app.db?timeout=5"', ("data/app.db",)),
        (', db_url=os.getenv("DB_URL", "sqlite:///notes.db")', ("notes.db",)),
        (', db_url=os.environ.get("DB_URL", "sqlite:///x.db")', ("x.db",)),
        (', db_url="sqlite:////var/lib/app.db"', ()),  # absolute: outside the release already
        (', db_url="postgresql://u@h/db"', ()),
        (', db_url="sqlite:///../up.db"', ()),  # would leave the app
        (', db_url=os.environ["DB_URL"]', ()),  # not known statically
        ("", ()),  # no db_url and no models
    ],
)
def test_rxconfig(tmp_path, extra, found):
    (tmp_path / "rxconfig.py").write_text(CONFIG.format(extra=extra))
    assert sqlite_files(tmp_path) == found


def test_a_module_variable_named_as_db_url(tmp_path):
    # reflex-dev/templates' customer_data_app
    (tmp_path / "rxconfig.py").write_text(
        'import os\nimport reflex as rx\n\ndatabase_url = os.getenv("DATABASE_URL", '
        '"sqlite:///reflex.db")\n\nconfig = rx.Config(app_name="c", db_url=database_url)\n'
    )
    assert sqlite_files(tmp_path) == ("reflex.db",)
    (tmp_path / "rxconfig.py").write_text(
        'import reflex as rx\nconfig = rx.Config(app_name="c", db_url=elsewhere)\n'
    )
    assert sqlite_files(tmp_path) == ()  # not known statically


def test_reflex_default_when_the_app_uses_models(tmp_path):
    (tmp_path / "rxconfig.py").write_text(CONFIG.format(extra=""))
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo/models.py").write_text(
        "import reflex as rx\nclass N(rx.Model, table=True): ...\n"
    )
    assert sqlite_files(tmp_path) == ("reflex.db",)
    (tmp_path / "rxconfig.py").write_text(CONFIG.format(extra=', db_url="postgresql://h/d"'))
    assert sqlite_files(tmp_path) == ()  # its own db_url wins over the default


def test_models_in_build_dirs_do_not_count(tmp_path):
    (tmp_path / "rxconfig.py").write_text(CONFIG.format(extra=""))
    (tmp_path / ".venv/lib").mkdir(parents=True)
    (tmp_path / ".venv/lib/reflex.py").write_text("rx.Model")
    assert sqlite_files(tmp_path) == ()


def test_a_broken_rxconfig_finds_nothing():
    assert db_url_of("config = (") == (False, None)
    assert relative_file("sqlite://") is None
    assert relative_file("sqlite:///:memory:") is None
