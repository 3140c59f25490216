"""Digests: digest_subscriptions and digest_sends

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.String(length=40), nullable=False),
        sa.Column("cadence", sa.String(length=10), nullable=False),
        sa.Column("last_sent_period", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cadence in ('daily', 'weekly')", name=op.f("ck_digest_subscriptions_cadence")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_digest_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_digest_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
        sa.UniqueConstraint(
            "user_id",
            "account_id",
            "feed_id",
            "cadence",
            name=op.f("uq_digest_subscriptions_user_id_account_id_feed_id_cadence"),
        ),
    )
    op.create_table(
        "digest_sends",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leads", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("unsubscribe_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status in ('sending', 'sent', 'skipped', 'failed')",
            name=op.f("ck_digest_sends_status"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["digest_subscriptions.id"],
            name=op.f("fk_digest_sends_subscription_id_digest_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscription_id", "period", name=op.f("pk_digest_sends")),
        sa.UniqueConstraint("unsubscribe_hash", name=op.f("uq_digest_sends_unsubscribe_hash")),
    )


def downgrade() -> None:
    op.drop_table("digest_sends")
    op.drop_table("digest_subscriptions")
