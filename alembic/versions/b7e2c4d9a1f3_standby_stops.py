"""standby stops: the panel's timer for warm standbys

Revision ID: b7e2c4d9a1f3
Revises: ede9bc618bc3
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2c4d9a1f3"
down_revision: str | None = "ede9bc618bc3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "standbystop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("color", sa.String(), nullable=False),
        sa.Column("release_id", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_standbystop_app_id", "standbystop", ["app_id"])
    op.create_index("ix_standbystop_due_at", "standbystop", ["due_at"])
    op.create_index(
        "ix_standbystop_app_server", "standbystop", ["app_id", "server_id"], unique=True
    )


def downgrade() -> None:
    op.drop_table("standbystop")
