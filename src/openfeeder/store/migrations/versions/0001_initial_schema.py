"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 03:02:43.426927
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subscription", sa.String(length=20), nullable=False),
        sa.Column("on_trial", sa.Boolean(), nullable=False),
        sa.Column("subscription_addons", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("script_hash", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "subscription in ('lite', 'premium')", name=op.f("ck_accounts_subscription")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("script_hash", name=op.f("uq_accounts_script_hash")),
    )
    op.create_table(
        "companies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("website_url", sa.String(length=500), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("industry_code", sa.Integer(), nullable=True),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("dealfront_id", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("linkedin_url", sa.String(length=500), nullable=True),
        sa.Column("twitter_handle", sa.String(length=100), nullable=True),
        sa.Column("facebook_url", sa.String(length=500), nullable=True),
        sa.Column("logo_url", sa.String(length=500), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("employees_min", sa.Integer(), nullable=True),
        sa.Column("employees_max", sa.Integer(), nullable=True),
        sa.Column("revenue", sa.String(length=64), nullable=True),
        sa.Column("business_id", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_companies_domain"), ["domain"], unique=False)

    op.create_table(
        "locations",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("region_code", sa.String(length=10), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("state_code", sa.String(length=2), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "custom_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_custom_feeds_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_feeds")),
    )
    op.create_table(
        "export_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.String(length=40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("file_name", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('pending', 'processed', 'failed')", name=op.f("ck_export_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_export_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_export_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_requests")),
        sa.UniqueConstraint("file_name", name=op.f("uq_export_requests_file_name")),
    )
    op.create_table(
        "hits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("client_event_id", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("accept_language", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_hits_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hits")),
        sa.UniqueConstraint(
            "account_id", "client_event_id", name=op.f("uq_hits_account_id_client_event_id")
        ),
    )
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hits_account_id_processed_at"),
            ["account_id", "processed_at"],
            unique=False,
        )

    op.create_table(
        "leads",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=22), nullable=False),
        sa.Column("assignee", sa.String(length=320), nullable=True),
        sa.Column("emailed_to", sa.Text(), nullable=True),
        sa.Column("crm_lead_id", sa.BigInteger(), nullable=True),
        sa.Column("crm_organization_id", sa.BigInteger(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("first_visit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_visit_date", sa.Date(), nullable=True),
        sa.Column("last_visit_date", sa.Date(), nullable=True),
        sa.Column("visits_total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_leads_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_leads_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_leads_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_leads")),
        sa.UniqueConstraint("account_id", "id", name=op.f("uq_leads_account_id_id")),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_memberships_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "account_id", name=op.f("pk_memberships")),
    )
    op.create_table(
        "lead_day_stats",
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("pageviews", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_pk"],
            ["leads.pk"],
            name=op.f("fk_lead_day_stats_lead_pk_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_pk", "day", name=op.f("pk_lead_day_stats")),
    )
    with op.batch_alter_table("lead_day_stats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_day_stats_account_id_day"), ["account_id", "day"], unique=False
        )

    op.create_table(
        "lead_followers",
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_pk"],
            ["leads.pk"],
            name=op.f("fk_lead_followers_lead_pk_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lead_followers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_pk", "user_id", name=op.f("pk_lead_followers")),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.String(length=22), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("medium", sa.String(length=100), nullable=True),
        sa.Column("campaign", sa.String(length=300), nullable=True),
        sa.Column("keyword", sa.String(length=500), nullable=True),
        sa.Column("query_term", sa.String(length=500), nullable=True),
        sa.Column("referring_url", sa.Text(), nullable=True),
        sa.Column("page_depth", sa.Integer(), nullable=False),
        sa.Column("visit_length", sa.Integer(), nullable=False),
        sa.Column("visit_route", sa.JSON(), nullable=False),
        sa.Column("lf_client_id", sa.String(length=64), nullable=True),
        sa.Column("ga_client_ids", sa.JSON(), nullable=False),
        sa.Column("adobe_cookies", sa.JSON(), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("device_type", sa.String(length=20), nullable=True),
        sa.Column("match_source", sa.String(length=40), nullable=True),
        sa.Column("match_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_visits_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_pk"], ["leads.pk"], name=op.f("fk_visits_lead_pk_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_visits_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visits_account_id_date"), ["account_id", "date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_visits_lead_pk_date"), ["lead_pk", "date"], unique=False
        )

    op.create_table(
        "visit_pages",
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("page_url", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_pages_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "position", name=op.f("pk_visit_pages")),
    )
    with op.batch_alter_table("visit_pages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_pages_lead_pk_date"), ["lead_pk", "date"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("visit_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_pages_lead_pk_date"))

    op.drop_table("visit_pages")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visits_lead_pk_date"))
        batch_op.drop_index(batch_op.f("ix_visits_account_id_date"))

    op.drop_table("visits")
    op.drop_table("lead_followers")
    with op.batch_alter_table("lead_day_stats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_day_stats_account_id_day"))

    op.drop_table("lead_day_stats")
    op.drop_table("memberships")
    op.drop_table("leads")
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hits_account_id_processed_at"))

    op.drop_table("hits")
    op.drop_table("export_requests")
    op.drop_table("custom_feeds")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("locations")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_companies_domain"))

    op.drop_table("companies")
    op.drop_table("accounts")
