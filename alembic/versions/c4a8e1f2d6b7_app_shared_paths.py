"""app shared paths: data kept in shared/ across releases

Revision ID: c4a8e1f2d6b7
Revises: b7e2c4d9a1f3
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a8e1f2d6b7"
down_revision: str | None = "b7e2c4d9a1f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(sa.Column("shared_paths", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("shared_paths")
