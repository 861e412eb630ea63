"""halls.external_id: a hall is matched by its catalogue id (a theatre's hall id), so a rename is a rename

Revision ID: 0002_issue15
Revises: 0002_issue12
Create Date: 2026-12-05 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_issue15"
down_revision: str | None = "0002_issue12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("halls", sa.Column("external_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("halls") as batch:
        batch.drop_column("external_id")
