"""payment events count the safety net's passes, so a poison event is parked

Revision ID: 0002_issue12b
Revises: 0002_issue15
Create Date: 2026-12-04 23:59:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_issue12b"
down_revision: str | None = "0002_issue15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment_events") as batch:
        batch.add_column(sa.Column("passes", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("payment_events") as batch:
        batch.drop_column("passes")
