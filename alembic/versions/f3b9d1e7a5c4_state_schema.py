"""app on_state_change, release state_schema: a deploy that changes the state classes
clears the stored state of open tabs, or is refused

Revision ID: f3b9d1e7a5c4
Revises: c2e8f4a6b1d3
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f3b9d1e7a5c4"
down_revision: str | None = "c2e8f4a6b1d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(
            sa.Column("on_state_change", sa.String(), nullable=False, server_default="reset")
        )
    with op.batch_alter_table("release") as batch:
        batch.add_column(sa.Column("state_schema", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("release") as batch:
        batch.drop_column("state_schema")
    with op.batch_alter_table("app") as batch:
        batch.drop_column("on_state_change")
