"""Dashboard: users.password_hash, memberships.role, web_sessions, lead_notes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
    # Everyone who was a member before roles existed could do everything: they stay admins.
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=10), server_default="admin", nullable=False)
        )
        batch_op.create_check_constraint("role", "role in ('admin', 'member')")
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions") as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "lead_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_pk"], ["leads.pk"], name=op.f("fk_lead_notes_lead_pk_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lead_notes_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_notes")),
    )
    with op.batch_alter_table("lead_notes") as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_notes_lead_pk"), ["lead_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_notes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_notes_lead_pk"))
    op.drop_table("lead_notes")
    with op.batch_alter_table("web_sessions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_sessions")
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.drop_constraint("role", type_="check")
        batch_op.drop_column("role")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("password_hash")
