"""companies.field_sources and companies.profile; website_cache: companies discovered
without an import, enriched from their own websites

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch_op:
        batch_op.add_column(sa.Column("field_sources", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("profile", sa.JSON(), nullable=True))
    op.create_table(
        "website_cache",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_website_cache")),
    )


def downgrade() -> None:
    op.drop_table("website_cache")
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 has it): a batch would copy and drop
    # ``companies``, which the leads' foreign keys forbid once there are leads.
    op.drop_column("companies", "profile")
    op.drop_column("companies", "field_sources")
