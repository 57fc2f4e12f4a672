"""app drain_seconds: after the switch, open tabs move to the live colour

Revision ID: c2e8f4a6b1d3
Revises: d5a1c7e3f9b2
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c2e8f4a6b1d3"
down_revision: str | None = "d5a1c7e3f9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(
            sa.Column("drain_seconds", sa.Float(), nullable=False, server_default="10")
        )


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("drain_seconds")
