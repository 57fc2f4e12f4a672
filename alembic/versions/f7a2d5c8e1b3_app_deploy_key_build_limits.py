"""app deploy key and build limits

Revision ID: f7a2d5c8e1b3
Revises: e3f1a7c2b9d4
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7a2d5c8e1b3"
down_revision: str | None = "e3f1a7c2b9d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(sa.Column("deploy_key_enc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("build_memory_mb", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("build_cpu_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("build_timeout", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("build_timeout")
        batch.drop_column("build_cpu_seconds")
        batch.drop_column("build_memory_mb")
        batch.drop_column("deploy_key_enc")
