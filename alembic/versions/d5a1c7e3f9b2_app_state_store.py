"""app state_store: a Redis per app that blue and green share, and its password

Revision ID: d5a1c7e3f9b2
Revises: b7d3e9a1c5f2
Create Date: 2026-12-02 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "d5a1c7e3f9b2"
down_revision: str | None = "b7d3e9a1c5f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.add_column(
            sa.Column(
                "state_store",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="server",
            )
        )
        batch.add_column(sa.Column("state_password_enc", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app") as batch:
        batch.drop_column("state_password_enc")
        batch.drop_column("state_store")
