"""export_requests.request_base_url: the base URL of the API request that asked for the export

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: requests made before this column existed fall back to the configured address.
    with op.batch_alter_table("export_requests") as batch_op:
        batch_op.add_column(sa.Column("request_base_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("export_requests") as batch_op:
        batch_op.drop_column("request_base_url")
