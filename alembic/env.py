"""Alembic environment: rxpanel's SQLModel metadata on rxpanel's engine."""

from alembic import context
from sqlalchemy import create_engine, event
from sqlmodel import SQLModel

from rxpanel import db, models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def render_item(kind, obj, autogen_context):
    """Migrations need only the column type underneath our UTC wrapper."""
    if kind == "type" and isinstance(obj, models.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or db.settings.get().db_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def migration_engine():
    """SQLite rebuilds a table to alter it (batch mode): with foreign keys on, dropping
    the old table that others refer to fails, so migrations run with them off."""
    url = db.settings.get().db_url
    if not url.startswith("sqlite"):
        return db.engine()
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _foreign_keys_off(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    return engine


def run_migrations_online() -> None:
    with migration_engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
