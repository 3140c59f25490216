"""lead_day_stats.last_visit_at: the time of the lead's last visit that day, for lead lists

Lead lists are ordered by the time of each lead's last visit in the interval; an index on
(account_id, last_visit_at, day, lead_pk) lets a page be read by walking it newest first
instead of aggregating every day row of the interval.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lead_day_stats") as batch_op:
        batch_op.add_column(sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=True))
    stats = sa.table(
        "lead_day_stats",
        sa.column("lead_pk"),
        sa.column("day"),
        sa.column("last_visit_at"),
    )
    visits = sa.table("visits", sa.column("lead_pk"), sa.column("date"), sa.column("started_at"))
    latest = (
        sa.select(sa.func.max(visits.c.started_at))
        .where(visits.c.lead_pk == stats.c.lead_pk, visits.c.date == stats.c.day)
        .scalar_subquery()
    )
    op.execute(stats.update().values(last_visit_at=latest))
    # A day row without visits is stale (recording recomputes rows from visits and would
    # delete it), so it goes rather than block the NOT NULL below.
    op.execute(stats.delete().where(stats.c.last_visit_at.is_(None)))
    with op.batch_alter_table("lead_day_stats") as batch_op:
        batch_op.alter_column(
            "last_visit_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index(
            "ix_lead_day_stats_account_id_last_visit_at_day_lead_pk",
            ["account_id", "last_visit_at", "day", "lead_pk"],
        )


def downgrade() -> None:
    with op.batch_alter_table("lead_day_stats") as batch_op:
        batch_op.drop_index("ix_lead_day_stats_account_id_last_visit_at_day_lead_pk")
        batch_op.drop_column("last_visit_at")
