"""company_domains becomes company_keys: it holds AS numbers and organisation names too

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 04:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("company_domains", "company_keys")
    with op.batch_alter_table("company_keys") as batch_op:
        batch_op.alter_column("domain", new_column_name="key")


def downgrade() -> None:
    with op.batch_alter_table("company_keys") as batch_op:
        batch_op.alter_column("key", new_column_name="domain")
    op.rename_table("company_keys", "company_domains")
