"""tracking and identification

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 03:31:03.328574
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "ip_cache",
        sa.Column("resolver", sa.String(length=20), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resolver", "ip", name=op.f("pk_ip_cache")),
    )
    op.create_table(
        "pipeline_shards",
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "processed_through", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_pipeline_shards")),
    )
    op.create_table(
        "company_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_company_domains_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_company_domains")),
    )
    op.create_table(
        "company_ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("network", sa.String(length=49), nullable=False),
        sa.Column("first_ip", sa.String(length=32), nullable=False),
        sa.Column("last_ip", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_company_ranges_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_ranges")),
        sa.UniqueConstraint(
            "company_id", "network", name=op.f("uq_company_ranges_company_id_network")
        ),
    )
    with op.batch_alter_table("company_ranges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_company_ranges_first_ip_last_ip"), ["first_ip", "last_ip"], unique=False
        )

    op.create_table(
        "traffic_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=253), nullable=False),
        sa.CheckConstraint(
            "kind in ('ip_range', 'country', 'hostname')", name=op.f("ck_traffic_rules_kind")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_traffic_rules_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_rules")),
        sa.UniqueConstraint(
            "account_id", "kind", "value", name=op.f("uq_traffic_rules_account_id_kind_value")
        ),
    )
    op.create_table(
        "visitor_sessions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("visitor_key", sa.String(length=64), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_hit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_visitor_sessions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "visitor_key", name=op.f("pk_visitor_sessions")),
    )
    with op.batch_alter_table("visitor_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visitor_sessions_last_hit_at"), ["last_hit_at"], unique=False
        )

    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_meta", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("visitor_key", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("drop_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("visit_id", sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_hits_shard_processed_at_id"),
            ["shard", "processed_at", "id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hits_shard_processed_at_id"))
        batch_op.drop_column("visit_id")
        batch_op.drop_column("drop_reason")
        batch_op.drop_column("shard")
        batch_op.drop_column("visitor_key")
        batch_op.drop_column("request_meta")

    with op.batch_alter_table("visitor_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitor_sessions_last_hit_at"))

    op.drop_table("visitor_sessions")
    op.drop_table("traffic_rules")
    with op.batch_alter_table("company_ranges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_company_ranges_first_ip_last_ip"))

    op.drop_table("company_ranges")
    op.drop_table("company_domains")
    op.drop_table("pipeline_shards")
    op.drop_table("ip_cache")
