"""Settings read from the environment (prefix ``OPENFEEDER_``): the only place env is read.

Every setting is documented in ``docs/configuration.md``; a test keeps the two in step.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; build one with ``Settings()`` and pass it down explicitly."""

    model_config = SettingsConfigDict(
        env_prefix="OPENFEEDER_", frozen=True, extra="ignore", enable_decoding=False
    )

    database_url: str = Field(
        default="sqlite:///openfeeder.db",
        description="SQLAlchemy URL of the store: sqlite:///FILE or postgresql://…",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL; when set, rate-limit counters and the job queue live in Redis.",
    )
    public_url: str | None = Field(
        default=None,
        description="Absolute base URL clients reach us at; links are built from the request "
        "when unset.",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Directory for export files and the embedded job queue.",
    )
    rate_limit_per_minute: int = Field(
        default=100, ge=1, description="Requests per token (or client IP) per UTC minute."
    )
    export_rate_limit_per_minute: int = Field(
        default=5, ge=1, description="POST /export-requests per token per UTC minute."
    )
    export_ttl_days: int = Field(
        default=7, ge=1, description="Days an export's download URL stays valid."
    )
    run_jobs_in_process: bool = Field(
        default=True,
        description="Run export jobs inside `serve`; set false when `openfeeder worker` runs them.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of proxies whose X-Forwarded-For is believed (JSON list or "
        "comma-separated); the socket address is used otherwise.",
    )
    tracker_flood_per_minute: int = Field(
        default=600, ge=1, description="Tracker hits accepted per client IP per UTC minute."
    )
    tracker_max_body: int = Field(
        default=32_768, ge=1024, description="Largest tracker event accepted, in bytes (413 above)."
    )
    asn_mmdb: Path | None = Field(
        default=None, description="MMDB ASN database (GeoLite2-ASN, DB-IP or IPinfo Lite format)."
    )
    city_mmdb: Path | None = Field(
        default=None, description="MMDB City database for visit and lead locations."
    )
    dns_servers: list[str] = Field(
        default_factory=list,
        description="Name servers for reverse DNS as host or host:port (JSON list or "
        "comma-separated); the system resolver when empty.",
    )
    dns_timeout: float = Field(
        default=1.0, gt=0, description="Seconds a reverse DNS lookup may take."
    )
    reverse_dns: bool = Field(default=True, description="Use reverse DNS to identify companies.")
    enrichment_url: str | None = Field(
        default=None,
        description="Optional HTTP enrichment provider, a URL template with {ip} (and {key}).",
    )
    enrichment_key: str | None = Field(
        default=None, description="API key for the enrichment provider, sent as {key}."
    )
    enrichment_timeout: float = Field(
        default=3.0, gt=0, description="Seconds one enrichment provider request may take."
    )
    truncate_ips: bool = Field(
        default=False,
        description="Truncate stored hit IPs (IPv4 /24, IPv6 /48) once identification is done.",
    )
    hit_retention_days: int = Field(
        default=30, ge=1, description="Days processed raw hits are kept before deletion."
    )
    pipeline_in_process: bool = Field(
        default=True,
        description="Run the tracking pipeline inside `serve`; false when `openfeeder worker` "
        "processes run it.",
    )
    pipeline_batch_size: int = Field(
        default=500, ge=1, description="Hits a pipeline worker processes per transaction."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `serve` listens on.")

    @field_validator("trusted_proxies", "dns_servers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
