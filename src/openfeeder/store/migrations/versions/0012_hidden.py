"""Hidden companies: traffic rules of kind company, leads.hidden

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_KINDS = "'ip_range', 'country', 'hostname'"


def upgrade() -> None:
    with op.batch_alter_table("traffic_rules") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", f"kind in ({_KINDS}, 'company')")
    # No account has a company rule yet, so no lead is hidden. Plain ALTER TABLE, never a
    # batch copy of leads: on SQLite dropping the old table would cascade to its visits.
    op.add_column(
        "leads", sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_index(op.f("ix_leads_account_id_hidden"), "leads", ["account_id", "hidden"])


def downgrade() -> None:
    op.drop_index(op.f("ix_leads_account_id_hidden"), "leads")
    op.drop_column("leads", "hidden")
    op.execute("DELETE FROM traffic_rules WHERE kind = 'company'")
    with op.batch_alter_table("traffic_rules") as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", f"kind in ({_KINDS})")
