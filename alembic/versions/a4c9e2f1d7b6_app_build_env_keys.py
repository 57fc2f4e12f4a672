"""app build-time env keys

Revision ID: a4c9e2f1d7b6
Revises: f7a2d5c8e1b3
Create Date: 2026-12-02 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a4c9e2f1d7b6"
down_revision: str | None = "f7a2d5c8e1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(
            sa.Column(
                "build_env_keys",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("build_env_keys")
