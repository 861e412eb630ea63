"""sale_queue_log: one `opened` row per opening (a unique index on show and seed)

Only `opened` rows carry a seed (the others' is NULL, and NULLs never collide), so the index makes a
second row for the same opening impossible, however many passes race to write it; a queue opened again
after Redis lost it draws a new seed and is recorded.

Revision ID: 0004_issue19
Revises: 0003_issue19
Create Date: 2026-12-05 06:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_issue19"
down_revision: str | None = "0003_issue19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("uq_sale_queue_log_opening", "sale_queue_log", ["show_id", "seed"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_sale_queue_log_opening", table_name="sale_queue_log")
