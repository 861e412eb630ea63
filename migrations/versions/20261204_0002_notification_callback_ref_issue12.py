"""notifications.callback_ref: an SMS row's unguessable name in its Twilio status callback URL

Revision ID: 0002_issue12
Revises: 0001
Create Date: 2026-12-04 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_issue12"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("callback_ref", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_notifications_callback_ref"), "notifications", ["callback_ref"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_callback_ref"), table_name="notifications")
    op.drop_column("notifications", "callback_ref")
