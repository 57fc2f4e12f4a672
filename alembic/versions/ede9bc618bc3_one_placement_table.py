"""one placement table: every server of an app is an appserver row, one primary

Revision ID: ede9bc618bc3
Revises: 3293d941181f
Create Date: 2026-12-01 22:40:00.000000

Before, an app's primary server and its ports lived on the app row (server_id,
port_blue, port_green) and only further servers had appserver rows; readers that
forgot the second shape missed fleet servers. Now every server has a row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ede9bc618bc3"
down_revision: str | None = "3293d941181f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lightweight table shapes for the data steps: the models describe the new schema only.
app = sa.table(
    "app",
    sa.column("id", sa.Integer),
    sa.column("server_id", sa.Integer),
    sa.column("port_blue", sa.Integer),
    sa.column("port_green", sa.Integer),
)
appserver = sa.table(
    "appserver",
    sa.column("app_id", sa.Integer),
    sa.column("server_id", sa.Integer),
    sa.column("port_blue", sa.Integer),
    sa.column("port_green", sa.Integer),
    sa.column("primary", sa.Boolean),
)
PRIMARY_WHERE = sa.text('"primary"')


def upgrade() -> None:
    with op.batch_alter_table("appserver", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("primary", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    # A further-server row naming the primary server itself (an update could make one)
    # would clash with the primary's row: the primary's ports win.
    op.execute(
        appserver.delete().where(
            sa.exists().where(
                app.c.id == appserver.c.app_id, app.c.server_id == appserver.c.server_id
            )
        )
    )
    op.execute(
        appserver.insert().from_select(
            ["app_id", "server_id", "port_blue", "port_green", "primary"],
            sa.select(app.c.id, app.c.server_id, app.c.port_blue, app.c.port_green, sa.true()),
        )
    )

    with op.batch_alter_table("appserver", schema=None) as batch_op:
        batch_op.alter_column("primary", server_default=None)
        batch_op.create_index(
            "one_primary_per_app",
            ["app_id"],
            unique=True,
            sqlite_where=PRIMARY_WHERE,
            postgresql_where=PRIMARY_WHERE,
        )

    with op.batch_alter_table("app", schema=None) as batch_op:
        batch_op.drop_index("ix_app_server_id")
        batch_op.drop_column("server_id")  # its foreign key goes with it
        batch_op.drop_column("port_blue")
        batch_op.drop_column("port_green")


def downgrade() -> None:
    # Added nullable, filled from the primary rows, then made required.
    with op.batch_alter_table("app", schema=None) as batch_op:
        batch_op.add_column(sa.Column("server_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("port_blue", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("port_green", sa.Integer(), nullable=True))

    primary = sa.select(appserver).where(
        appserver.c.app_id == app.c.id, appserver.c["primary"] == sa.true()
    )
    op.execute(
        app.update().values(
            server_id=primary.with_only_columns(appserver.c.server_id).scalar_subquery(),
            port_blue=primary.with_only_columns(appserver.c.port_blue).scalar_subquery(),
            port_green=primary.with_only_columns(appserver.c.port_green).scalar_subquery(),
        )
    )

    with op.batch_alter_table("app", schema=None) as batch_op:
        batch_op.alter_column("server_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("port_blue", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("port_green", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ix_app_server_id", ["server_id"], unique=False)
        batch_op.create_foreign_key("app_server_id_fkey", "server", ["server_id"], ["id"])

    op.execute(appserver.delete().where(appserver.c["primary"] == sa.true()))
    with op.batch_alter_table("appserver", schema=None) as batch_op:
        batch_op.drop_index("one_primary_per_app")
        batch_op.drop_column("primary")
