"""Settings read from the environment (prefix ``OPENFEEDER_``): the only place env is read.

Every setting is documented in ``docs/configuration.md``; a test keeps the two in step.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; build one with ``Settings()`` and pass it down explicitly."""

    model_config = SettingsConfigDict(env_prefix="OPENFEEDER_", frozen=True, extra="ignore")

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
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `serve` listens on.")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
