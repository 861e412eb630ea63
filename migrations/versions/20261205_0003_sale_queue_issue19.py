"""shows.on_sale_at and shows.sale_queue, and the on-sale queue's audit log (issue 19)

Revision ID: 0003_issue19
Revises: 0002_issue12b
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from booking_core.models import UTCDateTime

revision: str = "0003_issue19"
down_revision: str | None = "0002_issue12b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("shows", sa.Column("on_sale_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("shows", sa.Column("sale_queue", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "sale_queue_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("show_id", sa.Integer(), sa.ForeignKey("shows.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sale_queue_log_show_id", "sale_queue_log", ["show_id"])


def downgrade() -> None:
    op.drop_index("ix_sale_queue_log_show_id", table_name="sale_queue_log")
    op.drop_table("sale_queue_log")
    with op.batch_alter_table("shows") as batch:
        batch.drop_column("sale_queue")
        batch.drop_column("on_sale_at")
