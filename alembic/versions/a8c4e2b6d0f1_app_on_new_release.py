"""app on_new_release (a tab on the previous release's bundle reloads when quiet, or
shows a notice) and workers (backend processes per colour)

Revision ID: a8c4e2b6d0f1
Revises: f3b9d1e7a5c4
Create Date: 2026-12-02 14:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a8c4e2b6d0f1"
down_revision: str | None = "f3b9d1e7a5c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(
            sa.Column("on_new_release", sa.String(), nullable=False, server_default="reload")
        )
        batch.add_column(sa.Column("workers", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("workers")
        batch.drop_column("on_new_release")
