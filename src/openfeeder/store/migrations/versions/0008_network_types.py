"""network_types and network_sources: network types by AS number from public sources

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_types",
        sa.Column("asn", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind in ('isp', 'mobile', 'hosting', 'education', 'government', 'business')",
            name=op.f("ck_network_types_kind"),
        ),
        sa.PrimaryKeyConstraint("asn", "source", name=op.f("pk_network_types")),
    )
    op.create_table(
        "network_sources",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=500), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_network_sources")),
    )


def downgrade() -> None:
    op.drop_table("network_sources")
    op.drop_table("network_types")
