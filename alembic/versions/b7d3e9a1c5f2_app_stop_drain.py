"""app stop drain: seconds a stopping colour finishes its requests before it is killed

Revision ID: b7d3e9a1c5f2
Revises: a4c9e2f1d7b6
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d3e9a1c5f2"
down_revision: str | None = "a4c9e2f1d7b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(sa.Column("stop_drain", sa.Integer(), nullable=False, server_default="10"))


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("stop_drain")
