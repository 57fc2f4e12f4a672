"""Engine, sessions and migrations. Only services/ open sessions."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from rxpanel import settings

ROOT = Path(__file__).resolve().parent.parent


@cache
def engine() -> Engine:
    url = settings.get().db_url
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_pragmas(eng)
    else:
        eng = create_engine(url, pool_pre_ping=True)
    # Web workers are forked from a process that may already hold connections; a
    # connection used from two processes corrupts both. The child starts afresh.
    os.register_at_fork(after_in_child=lambda: eng.dispose(close=False))
    return eng


def _sqlite_pragmas(eng: Engine) -> None:

    @event.listens_for(eng, "connect")
    def _on_connect(dbapi_conn, _record):
        # Several processes (panel, CLI) share the file: WAL lets readers run
        # beside the writer, and we issue BEGIN ourselves (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; no fsync per log line
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(eng, "begin")
    def _on_begin(conn):
        # Take the write lock up front: a deferred transaction that later writes
        # can fail with "database is locked" regardless of busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session() -> Iterator[Session]:
    """A short unit of work: commits on success, rolls back on error."""
    with Session(engine(), expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


def alembic_config():
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", settings.get().db_url.replace("%", "%%"))
    return cfg


def upgrade() -> None:
    """Bring the schema to the newest migration (cheap when already there).

    Several processes may start at once (panel workers, the CLI): one migrates
    under a lock while the others wait, then find the schema current."""
    if _at_known_heads():  # the common case, without importing alembic (0.2 s of a CLI run)
        return
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config()
    heads = set(ScriptDirectory.from_config(cfg).get_heads())

    def current() -> set[str]:
        with engine().connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())

    if current() != heads:
        with _migration_lock():
            if current() != heads:
                from alembic import command

                command.upgrade(cfg, "head")
    _remember_heads(heads)


def _heads_file() -> Path:
    return settings.get().home / "schema-heads.json"


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "alembic" / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _remember_heads(heads: set[str]) -> None:
    """What alembic found the heads of these migration files to be, kept so that the
    next process can tell the schema is current with one query (a cache: alembic
    stays the authority, and any change to a migration file makes it ask again)."""
    try:
        known = {"migrations": _migrations_digest(), "heads": sorted(heads)}
        _heads_file().write_text(json.dumps(known))
    except OSError:
        pass  # a read-only home: every run asks alembic, as before


def _at_known_heads() -> bool:
    try:
        known = json.loads(_heads_file().read_text())
        if known["migrations"] != _migrations_digest():
            return False
        with engine().connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except Exception:  # noqa: BLE001 - no cache, no table yet, ...: alembic decides
        return False
    return {r[0] for r in rows} == set(known["heads"])


@contextmanager
def _migration_lock() -> Iterator[None]:
    if engine().dialect.name == "postgresql":
        with engine().connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(72736)")  # any fixed number of ours
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(72736)")
                conn.commit()
        return
    import fcntl

    with open(settings.get().home / "migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
