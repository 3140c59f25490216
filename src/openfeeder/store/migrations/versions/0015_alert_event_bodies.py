"""Alert event bodies built by the first delivery: alert_events.payload nullable, the lead's
quality kept on the event, an index on alert_events.visit_id

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_events") as batch_op:
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=True)
        batch_op.add_column(sa.Column("quality", sa.SmallInteger(), nullable=True))
    op.create_index(op.f("ix_alert_events_visit_id"), "alert_events", ["visit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_events_visit_id"), table_name="alert_events")
    # Events still waiting for their first delivery have no body yet: they cannot be kept.
    op.execute("DELETE FROM alert_events WHERE payload IS NULL")
    with op.batch_alter_table("alert_events") as batch_op:
        batch_op.drop_column("quality")
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=False)
