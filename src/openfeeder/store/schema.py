"""Table definitions. Alembic migrations in ``migrations/`` create them; this module is the
source the migrations are generated from and the queries are written against."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class Timestamp(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no zone, so it is added back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("password_hash", sa.String(200)),  # argon2id; None: cannot sign in to the dashboard
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("hint", sa.String(8), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("name", sa.String(100)),  # what its owner calls it ("CRM sync"); None: unnamed
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("subscription", sa.String(20), nullable=False),
    sa.Column("on_trial", sa.Boolean, nullable=False, default=False),
    sa.Column("subscription_addons", sa.JSON, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("script_hash", sa.String(32), nullable=False, unique=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.CheckConstraint("subscription in ('lite', 'premium')", name="subscription"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    # admin: settings, members, tokens and traffic rules; member: leads and feeds.
    sa.Column("role", sa.String(10), nullable=False, server_default="admin"),
    sa.CheckConstraint("role in ('admin', 'member')", name="role"),
)

# Invitations to an account by link: the link's token is shown once and only its SHA-256 is
# kept. One is pending until accepted, revoked or expired (``expires_at``).
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("inviter_id", sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("expires_at", Timestamp(), nullable=False),
    sa.Column("accepted_at", Timestamp()),
    sa.Column("revoked_at", Timestamp()),
    sa.CheckConstraint("role in ('admin', 'member')", name="role"),
)

# Password resets by email: the link's token is mailed once and only its SHA-256 is kept. One
# is open until used, revoked (a newer request, or the password changed another way) or past
# ``expires_at``; rows are kept a day beyond that, so that the hourly cap can count them and
# an old link can say what became of it.
password_resets = sa.Table(
    "password_resets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("expires_at", Timestamp(), nullable=False),
    sa.Column("used_at", Timestamp()),
    sa.Column("revoked_at", Timestamp()),
)

# Dashboard sign-ins. The cookie holds a random token; the store keeps only its SHA-256, so a
# copy of the database signs nobody in. ``csrf`` is the session's anti-forgery token.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("last_seen_at", Timestamp(), nullable=False),
    sa.Column("expires_at", Timestamp(), nullable=False),
    sa.Column("ip", sa.String(45)),
    sa.Column("user_agent", sa.String(300)),
)

companies = sa.Table(
    "companies",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("domain", sa.String(253), index=True),
    sa.Column("website_url", sa.String(500)),
    sa.Column("industry", sa.String(200)),
    sa.Column("industry_code", sa.Integer),
    sa.Column("industries", sa.JSON, nullable=False),
    sa.Column("dealfront_id", sa.String(40)),
    sa.Column("phone", sa.String(64)),
    sa.Column("linkedin_url", sa.String(500)),
    sa.Column("twitter_handle", sa.String(100)),
    sa.Column("facebook_url", sa.String(500)),
    sa.Column("logo_url", sa.String(500)),
    sa.Column("employee_count", sa.Integer),
    sa.Column("employees_min", sa.Integer),
    sa.Column("employees_max", sa.Integer),
    sa.Column("revenue", sa.String(64)),
    sa.Column("business_id", sa.String(100)),
    # Where each firmographic field came from (import, wikidata, website, network,
    # reverse_dns); a field without an entry was written before sources were recorded.
    sa.Column("field_sources", sa.JSON),
    # What the company's website says that the company model has no field for (description,
    # address, country), each bounded.
    sa.Column("profile", sa.JSON),
    sa.Column("updated_at", Timestamp(), nullable=False),
)

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("id", sa.String(22), primary_key=True),
    sa.Column("country", sa.String(100)),
    sa.Column("country_code", sa.String(2)),
    sa.Column("region", sa.String(200)),
    sa.Column("region_code", sa.String(10)),
    sa.Column("city", sa.String(200)),
    sa.Column("state_code", sa.String(2)),
)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("company_id", sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("location_id", sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("assignee", sa.String(320)),
    sa.Column("emailed_to", sa.Text),
    sa.Column("crm_lead_id", sa.BigInteger),
    sa.Column("crm_organization_id", sa.BigInteger),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("first_visit_at", Timestamp()),
    sa.Column("last_visit_at", Timestamp()),
    sa.Column("first_visit_date", sa.Date),
    sa.Column("last_visit_date", sa.Date),
    sa.Column("visits_total", sa.Integer, nullable=False, default=0),
    # The lead's company is hidden by one of the account's "company" traffic rules: it is left
    # out of every lead list and export (store/traffic.py keeps it in step with the rules).
    sa.Column("hidden", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.UniqueConstraint("account_id", "id"),
    # Lead lists leave out the account's hidden leads, found by this index (there are few).
    sa.Index(None, "account_id", "hidden"),
)

lead_followers = sa.Table(
    "lead_followers",
    metadata,
    sa.Column("lead_pk", sa.ForeignKey("leads.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

# What people write about a lead in the dashboard, newest last.
lead_notes = sa.Table(
    "lead_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lead_pk", sa.ForeignKey("leads.pk", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("lead_pk", sa.ForeignKey("leads.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("location_id", sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("started_at", Timestamp(), nullable=False),
    sa.Column("date", sa.Date, nullable=False),  # in the account's timezone
    sa.Column("hour", sa.SmallInteger, nullable=False),  # in the account's timezone
    sa.Column("source", sa.String(200)),
    sa.Column("medium", sa.String(100)),
    sa.Column("campaign", sa.String(300)),
    sa.Column("keyword", sa.String(500)),
    sa.Column("query_term", sa.String(500)),
    sa.Column("referring_url", sa.Text),
    sa.Column("page_depth", sa.Integer, nullable=False),
    sa.Column("visit_length", sa.Integer, nullable=False),
    sa.Column("visit_route", sa.JSON, nullable=False),
    sa.Column("lf_client_id", sa.String(64)),
    sa.Column("ga_client_ids", sa.JSON, nullable=False),
    sa.Column("adobe_cookies", sa.JSON),
    sa.Column("country_code", sa.String(2)),
    sa.Column("device_type", sa.String(20)),
    sa.Column("match_source", sa.String(40)),
    sa.Column("match_reason", sa.Text),
    sa.Index(None, "account_id", "date"),
    sa.Index(None, "lead_pk", "date"),
)

# One row per pageview, for the page_url feed criterion (the route itself is JSON).
visit_pages = sa.Table(
    "visit_pages",
    metadata,
    sa.Column("visit_id", sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("lead_pk", sa.Integer, nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("page_url", sa.Text, nullable=False),
    sa.Index(None, "lead_pk", "date"),
)

# Per-day lead statistics: interval queries read these, so their cost follows days × leads.
lead_day_stats = sa.Table(
    "lead_day_stats",
    metadata,
    sa.Column("lead_pk", sa.ForeignKey("leads.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("visits", sa.Integer, nullable=False),
    sa.Column("pageviews", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Integer, nullable=False),
    sa.Column("bounces", sa.Integer, nullable=False),
    # The start of the lead's last visit that day: lead lists walk the index below newest
    # first, so a page reads about as many rows as it shows (store/leads.py).
    sa.Column("last_visit_at", Timestamp(), nullable=False),
    sa.Index(None, "account_id", "day"),
    sa.Index(None, "account_id", "last_visit_at", "day", "lead_pk"),
)

# Per-account, per-day rollups for the overview, kept by the recording path by adding each
# batch's differences (store/rollups.py): its chart, totals and top lists read days ×
# distinct keys instead of every visit and pageview of the period.


def _per_account_day(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A rollup table keyed by account, day (the account's) and its own key columns."""
    account = sa.ForeignKey("accounts.id", ondelete="CASCADE")
    return sa.Table(
        name,
        metadata,
        sa.Column("account_id", account, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        *columns,
    )


account_day_stats = _per_account_day(
    "account_day_stats",
    sa.Column("visits", sa.Integer, nullable=False),
    sa.Column("pageviews", sa.Integer, nullable=False),
)

# Pageviews per page URL: keyed by a hash of the whole URL (visitor-supplied, up to
# domain.events.MAX_URL), shown by its first 2000 characters.
account_day_pages = _per_account_day(
    "account_day_pages",
    sa.Column("url_hash", sa.String(32), primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("pageviews", sa.Integer, nullable=False),
)

# Visits per (source, medium), keyed by a hash of the pair (either may be unknown).
account_day_sources = _per_account_day(
    "account_day_sources",
    sa.Column("source_hash", sa.String(32), primary_key=True),
    sa.Column("source", sa.String(200)),
    sa.Column("medium", sa.String(100)),
    sa.Column("visits", sa.Integer, nullable=False),
)

custom_feeds = sa.Table(
    "custom_feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("criteria", sa.JSON, nullable=False),
)

export_requests = sa.Table(
    "export_requests",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("feed_id", sa.String(40), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("file_name", sa.String(64), unique=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("heartbeat_at", Timestamp()),
    sa.Column("finished_at", Timestamp()),
    sa.Column("expires_at", Timestamp()),
    # Where the API request came from, so the job (any process, no request at hand) writes
    # the same absolute links the API gave; NULL on requests older than the column.
    sa.Column("request_base_url", sa.Text),
    sa.CheckConstraint("status in ('pending', 'processed', 'failed')", name="status"),
)

# Raw tracker hits, appended by ingest and consumed by the pipeline. ``visitor_key`` and
# ``shard`` are computed at ingest (a hash, nothing slow) so the pipeline can claim whole
# shards and so see one visitor's hits in order; ``drop_reason``/``visit_id`` record what the
# pipeline made of each hit.
hits = sa.Table(
    "hits",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("client_event_id", sa.String(32), nullable=False),
    sa.Column("received_at", Timestamp(), nullable=False),
    sa.Column("ip", sa.String(45), nullable=False),
    sa.Column("user_agent", sa.Text),
    sa.Column("accept_language", sa.String(200)),
    sa.Column("request_meta", sa.JSON),  # request headers the pipeline uses (Sec-Purpose …)
    sa.Column("visitor_key", sa.String(64), nullable=False),
    sa.Column("shard", sa.SmallInteger, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("processed_at", Timestamp()),
    sa.Column("drop_reason", sa.String(40)),
    sa.Column("visit_id", sa.String(36)),
    # Why a quarantined hit (drop reason "error") could not be processed: the error's type
    # and message, for operators; the hit is processed again once an operator releases it.
    sa.Column("error", sa.Text),
    sa.UniqueConstraint("account_id", "client_event_id"),
    sa.Index(None, "account_id", "processed_at"),
    sa.Index(None, "shard", "processed_at", "id"),
)

# One row per pipeline shard; a worker holds a shard's row lock (FOR UPDATE SKIP LOCKED on
# PostgreSQL) for the transaction that processes that shard's next batch.
pipeline_shards = sa.Table(
    "pipeline_shards",
    metadata,
    sa.Column("shard", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("processed_through", sa.BigInteger().with_variant(sa.Integer, "sqlite")),
    sa.Column("updated_at", Timestamp()),
)

# The visit a visitor is in the middle of, so sessions continue across batches.
visitor_sessions = sa.Table(
    "visitor_sessions",
    metadata,
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("visitor_key", sa.String(64), primary_key=True),
    sa.Column("visit_id", sa.String(36), nullable=False),
    sa.Column("started_at", Timestamp(), nullable=False),
    sa.Column("last_hit_at", Timestamp(), nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Index(None, "last_hit_at"),
)

# Company IP ranges from the company database, as fixed-width hex bounds (32 hex digits,
# IPv4 mapped into IPv6) so range lookups are plain string comparisons on both backends.
company_ranges = sa.Table(
    "company_ranges",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("company_id", sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("network", sa.String(49), nullable=False),
    sa.Column("first_ip", sa.String(32), nullable=False),
    sa.Column("last_ip", sa.String(32), nullable=False),
    sa.UniqueConstraint("company_id", "network"),
    sa.Index(None, "first_ip", "last_ip"),
)

# The keys identification finds a company by: its domains ("acme.fi"), and the AS numbers
# ("asn:64500") and organisation names ("org:acme") the ASN resolver matches on.
company_keys = sa.Table(
    "company_keys",
    metadata,
    sa.Column("key", sa.String(253), primary_key=True),
    sa.Column("company_id", sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
)

# An account's own traffic rules: kind is ip_range, country or hostname (matching visits are
# dropped), or company (a company domain or id whose leads are hidden, their visits kept).
traffic_rules = sa.Table(
    "traffic_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("value", sa.String(253), nullable=False),
    sa.UniqueConstraint("account_id", "kind", "value"),
    sa.CheckConstraint("kind in ('ip_range', 'country', 'hostname', 'company')", name="kind"),
)

# Answers of slow resolvers (reverse DNS, enrichment) by IP, with an expiry.
# The company website enrichment's answers by domain (identify/website.py), like ip_cache.
website_cache = sa.Table(
    "website_cache",
    metadata,
    sa.Column("domain", sa.String(253), primary_key=True),
    sa.Column("answer", sa.JSON, nullable=False),
    sa.Column("expires_at", Timestamp(), nullable=False),
)
ip_cache = sa.Table(
    "ip_cache",
    metadata,
    sa.Column("resolver", sa.String(20), primary_key=True),
    sa.Column("ip", sa.String(45), primary_key=True),
    sa.Column("answer", sa.JSON, nullable=False),
    sa.Column("expires_at", Timestamp(), nullable=False),
)

# A random salt per UTC day for visitors without cookies (``….NC`` client ids): their visitor
# key hashes the salt with the account, IP and user agent, so a visitor cannot be followed
# from one day to the next once the day's salt is deleted (the pipeline's janitor does that).
pipeline_salts = sa.Table(
    "pipeline_salts",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("salt", sa.String(64), nullable=False),
)

# What public sources (and the operator) say an autonomous system is: one row per AS number
# and source, so sources that disagree stay visible. ``source`` is ``override`` (the
# operator), ``bgptools:<tag>``, ``bgptools:asns``, ``peeringdb`` or ``list:<name>``;
# ``kind`` is NULL where the source names the AS without typing it (bgp.tools' asns.csv);
# ``detail`` is the source's own word for it (a tag, a PeeringDB info_type, a class).
network_types = sa.Table(
    "network_types",
    metadata,
    sa.Column("asn", sa.BigInteger, primary_key=True),
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(20)),
    sa.Column("detail", sa.String(200)),
    sa.Column("name", sa.String(300)),
    sa.Column("domain", sa.String(253)),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.CheckConstraint(
        "kind in ('isp', 'mobile', 'hosting', 'education', 'government', 'business')",
        name="kind",
    ),
)

# One row per imported source: when it last changed (the classifier's in-memory copy reloads
# when the newest of these moves) and how many AS numbers it holds.
network_sources = sa.Table(
    "network_sources",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("origin", sa.String(500), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("imported_at", Timestamp(), nullable=False),
)

# --- Alerts (services/alerts): endpoints events go to, rules that make events, the events
# themselves and their deliveries, an outbox the delivery loop works through.

alert_endpoints = sa.Table(
    "alert_endpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    # Signing secrets (``whsec_…``), newest first; two while a rotation is under way.
    sa.Column("secrets", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    # Since when every delivery failed (NULL after a success); disabled after days of it.
    sa.Column("failing_since", Timestamp()),
    sa.Column("disabled_at", Timestamp()),
    sa.Column("disabled_reason", sa.Text),
    # A REST hook subscription (``POST /hooks``) owns its endpoint and rule: the token's user.
    sa.Column("hook_user_id", sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Index(None, "account_id"),
    sa.CheckConstraint("kind in ('webhook', 'slack', 'teams', 'email')", name="kind"),
)

alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("feed_id", sa.String(40), nullable=False),
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("cooldown_seconds", sa.Integer, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("endpoint_ids", sa.JSON, nullable=False),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Index(None, "account_id", "enabled"),
    sa.CheckConstraint(
        "trigger in ('new_company', 'returning', 'page_visit', 'quality')", name="trigger"
    ),
)

# One row per (rule, lead, visit): the unique key makes a retried pipeline batch, or a second
# worker, find the event already there. Test events have no rule, lead or visit.
alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rule_id", sa.ForeignKey("alert_rules.id", ondelete="CASCADE")),
    sa.Column("lead_pk", sa.ForeignKey("leads.pk", ondelete="CASCADE")),
    sa.Column("visit_id", sa.String(36)),
    sa.Column("type", sa.String(40), nullable=False),
    # The webhook body, written by the first delivery attempt (``services.alerts.events``)
    # so that the pipeline's transaction stores only this row; retries send the same body.
    sa.Column("payload", sa.JSON),
    sa.Column("quality", sa.SmallInteger),  # the lead's quality in the feed when it fired
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("rule_id", "lead_pk", "visit_id"),
    sa.Index(None, "rule_id", "lead_pk", "created_at"),
    sa.Index(None, "visit_id"),
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "endpoint_id", sa.ForeignKey("alert_endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", Timestamp()),
    # A claimed delivery is the claimer's until then; one that outlives a killed worker is
    # claimed again (deliveries are at least once, with the same webhook-id).
    sa.Column("lease_until", Timestamp()),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("delivered_at", Timestamp()),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("event_id", "endpoint_id"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "endpoint_id", "id"),
    sa.CheckConstraint("status in ('pending', 'delivered', 'failed')", name="status"),
)

alert_delivery_attempts = sa.Table(
    "alert_delivery_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "delivery_id",
        sa.ForeignKey("alert_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", Timestamp(), nullable=False),
    sa.Column("request_headers", sa.JSON, nullable=False),
    sa.Column("request_body", sa.Text, nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("response_excerpt", sa.Text),  # at most 2 KB of the answer
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
)

# Digests: a user's daily or weekly email of one feed's leads (services/digests.py).
# ``feed_id`` is a feed's id as the API names it (a built-in one or a custom feed's number);
# ``last_sent_period`` is the first day of the newest period handled (sent or skipped).
digest_subscriptions = sa.Table(
    "digest_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("feed_id", sa.String(40), nullable=False),
    sa.Column("cadence", sa.String(10), nullable=False),
    sa.Column("last_sent_period", sa.Date),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("user_id", "account_id", "feed_id", "cadence"),
    sa.CheckConstraint("cadence in ('daily', 'weekly')", name="cadence"),
)

# One row per (subscription, period): whoever inserts it sends that digest, so two workers
# never send the same one. ``unsubscribe_hash`` is the SHA-256 of the token in that digest's
# unsubscribe link (every digest carries its own; the store keeps none of them).
digest_sends = sa.Table(
    "digest_sends",
    metadata,
    sa.Column(
        "subscription_id",
        sa.ForeignKey("digest_subscriptions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("period", sa.Date, primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("claimed_at", Timestamp(), nullable=False),
    sa.Column("finished_at", Timestamp()),
    sa.Column("leads", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("unsubscribe_hash", sa.String(64), unique=True),
    sa.CheckConstraint("status in ('sending', 'sent', 'skipped', 'failed')", name="status"),
)
