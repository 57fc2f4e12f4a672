"""release schema heads and database, the database revision per app server

Revision ID: e5f1a9c3b8d2
Revises: c4a8e1f2d6b7
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5f1a9c3b8d2"
down_revision: str | None = "c4a8e1f2d6b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("release") as batch:
        batch.add_column(sa.Column("schema_heads", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("database", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("appserver") as batch:
        batch.add_column(sa.Column("db_revision", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appserver") as batch:
        batch.drop_column("db_revision")
    with op.batch_alter_table("release") as batch:
        batch.drop_column("database")
        batch.drop_column("schema_heads")
