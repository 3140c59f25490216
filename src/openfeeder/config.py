"""Settings read from the environment (prefix ``OPENFEEDER_``): the only place env is read.

Every setting is documented in ``docs/configuration.md``; a test keeps the two in step.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_HOST = re.compile(r"[0-9A-Za-z.:\-]+")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _is_name_server(text: str) -> bool:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address (as rdns reads them)."""
    value = text.strip()
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                return False
            port = rest[1:]
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    valid_port = port.isascii() and port.isdigit() and 0 < int(port) < 65536
    return bool(host and _HOST.fullmatch(host) and valid_port)


# The MIT-licensed public datacenter/hosting AS lists `openfeeder networks update` downloads.
DEFAULT_HOSTING_LISTS = (
    "x4bnet-datacenter=https://raw.githubusercontent.com/X4BNet/lists_vpn/main/input/datacenter/ASN.txt",
    "brianhama-bad-asn=https://raw.githubusercontent.com/brianhama/bad-asn-list/master/bad-asn-list.csv",
)
PEERINGDB_NETS_URL = (
    "https://www.peeringdb.com/api/net?fields=asn,name,info_type,info_types,website"
)
DEFAULT_NETWORKS_USER_AGENT = "openfeeder-networks/1 (self-hosted openfeeder network-type updater)"


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
        description="Directory for export files, the embedded job queue and downloaded IP "
        "databases (`geoip/`).",
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
        default=None,
        description="MMDB ASN database (GeoLite2-ASN, DB-IP or IPinfo Lite format); the "
        "downloaded one in `DATA_DIR/geoip/` when unset.",
    )
    city_mmdb: Path | None = Field(
        default=None,
        description="MMDB City database for visit and lead locations; the downloaded one in "
        "`DATA_DIR/geoip/` when unset.",
    )
    geoip_provider: Literal["dbip", "ipinfo", "geolite2"] = Field(
        default="dbip",
        description="Where `openfeeder geoip update` downloads the IP databases from: DB-IP "
        "Lite (no key), IPinfo Lite (token) or MaxMind GeoLite2 (account id and licence key).",
    )
    geoip_base_url: str | None = Field(
        default=None,
        description="Base URL of the provider's downloads, for a mirror; the provider's own "
        "when unset.",
    )
    geoip_update_interval: float = Field(
        default=168.0,
        ge=0,
        description="Hours between scheduled IP database updates in `serve` and `worker`; 0 "
        "turns the schedule off.",
    )
    geoip_timeout: float = Field(
        default=30.0, gt=0, description="Seconds an IP database download may wait for data."
    )
    ipinfo_token: SecretStr | None = Field(
        default=None, description="IPinfo access token, for the ipinfo provider."
    )
    maxmind_account_id: str | None = Field(
        default=None, description="MaxMind account id, for the geolite2 provider."
    )
    maxmind_license_key: SecretStr | None = Field(
        default=None, description="MaxMind licence key, for the geolite2 provider."
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
    discover_companies: bool = Field(
        default=True,
        description="Make companies of organisations' networks (an AS typed business, "
        "education or government by a source) and of static host names in reverse DNS when "
        "the company database does not know them.",
    )
    website_enrichment: bool = Field(
        default=True,
        description="Read discovered companies' own websites (schema.org JSON-LD, OpenGraph, "
        "icons) for their name, logo, social profiles and phone; never overwrites imports.",
    )
    website_url: str = Field(
        default="https://{domain}/",
        description="URL template of a company's website, with {domain}.",
    )
    website_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to connect to and read from a company website."
    )
    website_allow_loopback: bool = Field(
        default=False,
        description="Let website enrichment and the dashboard's installation check fetch from "
        "loopback addresses (tests only; private, link-local and other non-public addresses "
        "are refused always).",
    )
    websites_per_batch: int = Field(
        default=8, ge=1, description="Company websites fetched at most per pipeline batch."
    )
    alerts_allow_loopback: bool = Field(
        default=False,
        description="Let alert deliveries go to loopback addresses (tests only; private, "
        "link-local and other non-public addresses are refused always).",
    )
    alerts_timeout: float = Field(
        default=10.0, gt=0, description="Seconds one alert delivery may take to connect and answer."
    )
    alerts_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a claimed alert delivery is a worker's; one left by a killed worker "
        "is sent again after it.",
    )
    alerts_disable_after_days: float = Field(
        default=5.0,
        gt=0,
        description="Days of nothing but failed deliveries after which an alert endpoint is "
        "disabled.",
    )
    installation_checks_per_minute: int = Field(
        default=6, ge=1, description="Installation checks an account may run per minute."
    )
    # --- network types from public sources (`openfeeder networks update`) ---
    networks_bgptools_asns_url: str | None = Field(
        default="https://bgp.tools/asns.csv",
        description="bgp.tools' asns.csv (asn,name,class,cc); unset to skip.",
    )
    networks_bgptools_tags_url: str | None = Field(
        default="https://bgp.tools/tags/{tag}.csv",
        description="bgp.tools' tag files, a URL template with {tag}; unset to skip.",
    )
    networks_peeringdb_url: str | None = Field(
        default=None,
        description="PeeringDB's network objects (its API, JSON), e.g. "
        f"{PEERINGDB_NETS_URL}; unset (the default) skips it: PeeringDB's AUP allows bulk "
        "downloads only for Internet operational purposes.",
    )
    networks_hosting_lists: list[str] = Field(
        default_factory=lambda: list(DEFAULT_HOSTING_LISTS),
        description="Hosting AS-number lists as NAME=URL (JSON list or comma-separated).",
    )
    networks_user_agent: str = Field(
        default=DEFAULT_NETWORKS_USER_AGENT,
        description="User-Agent of network-type downloads; bgp.tools asks for one that names "
        "the install and a contact.",
    )
    networks_timeout: float = Field(
        default=60.0, gt=0, description="Seconds one network-type download may take."
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
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token an operator's Prometheus sends to read `/metrics`; the "
        "metrics are not served while it is unset.",
    )
    ready_max_pipeline_lag: float = Field(
        default=300.0,
        ge=0,
        description="Seconds the oldest unprocessed tracker hit may wait before `/readyz` "
        "answers 503; 0 turns the check off.",
    )
    # --- outgoing email (services/mailer.py): alerts, digests, invitations ---
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server that sends openfeeder's email; no email is sent while unset.",
    )
    smtp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="SMTP port; by `SMTP_SECURITY` when unset: 25 (none), 587 (starttls) or "
        "465 (tls).",
    )
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="starttls",
        description="How the SMTP connection is protected: none, starttls (upgrade a plain "
        "connection, refused if the server cannot) or tls (TLS from the first byte).",
    )
    smtp_user: str | None = Field(
        default=None, description="SMTP user name; no authentication while unset."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str | None = Field(
        default=None,
        description="The From of every email, an address or `Name <address>`; required to send.",
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CAs an SMTP server's certificate may chain to; the "
        "system's when unset.",
    )
    smtp_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to connect to the SMTP server and per reply."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `serve` listens on.")
    access_log: bool = Field(
        default=False,
        description="Log every request `serve` answers (uvicorn's access log); off by default, "
        "for the tracker's throughput (BENCHMARKS.md).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="How `serve` and `worker` write their log on stderr: `text` lines, or "
        "`json`, one object per line with the request id (or batch or job id) of each record.",
    )

    @field_validator("trusted_proxies", "dns_servers", "networks_hosting_lists", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("smtp_from")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        if value is None:
            return value
        _, address = email.utils.parseaddr(value)
        if "@" not in address or any(ch in value for ch in "\r\n"):
            raise ValueError(f"{value!r} is not an address or Name <address>")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("dns_servers")
    @classmethod
    def _name_servers(cls, value: list[str]) -> list[str]:
        # Only the shape here; a name is resolved to an address when the resolver is built,
        # which ``serve`` and ``worker`` do at start-up.
        for server in value:
            if not _is_name_server(server):
                raise ValueError(f"{server!r} is not host, host:port or [IPv6]:port")
        return value

    @field_validator("geoip_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else None

    @field_validator("networks_hosting_lists")
    @classmethod
    def _named_urls(cls, value: list[str]) -> list[str]:
        for entry in value:
            name, _, url = entry.partition("=")
            if not name.strip() or not url.strip().startswith(("http://", "https://")):
                raise ValueError(f"{entry!r} is not NAME=http(s)://URL")
        return value

    @field_validator("enrichment_url")
    @classmethod
    def _url_template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        fields = set(_PLACEHOLDER.findall(value))
        if "ip" not in fields:
            raise ValueError("must contain {ip}")
        if unknown := fields - {"ip", "key"}:
            raise ValueError(f"only {{ip}} and {{key}} may be filled in, not {sorted(unknown)}")
        return value

    @field_validator("website_url")
    @classmethod
    def _website_template(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        if set(_PLACEHOLDER.findall(value)) != {"domain"}:
            raise ValueError("must contain {domain} and no other placeholder")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
