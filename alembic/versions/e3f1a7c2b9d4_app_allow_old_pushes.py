"""app allow_old_pushes: a push of a commit older than the live one may deploy

Revision ID: e3f1a7c2b9d4
Revises: e5f1a9c3b8d2
Create Date: 2026-12-02 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3f1a7c2b9d4"
down_revision: str | None = "e5f1a9c3b8d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(
            sa.Column("allow_old_pushes", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("allow_old_pushes")
