"""The IP databases on disk: where they live, how they are downloaded from a provider (DB-IP
Lite, IPinfo Lite, MaxMind GeoLite2) or installed from a local file, verified and put in
place atomically, and the attribution each provider's licence asks for.

An update stages every file first (stream to a temporary file next to its target, check the
provider's checksum, decompress, open it with ``maxminddb`` and check its type, build date and
a few well-known addresses) and only then replaces the targets with ``os.replace``; any
failure leaves every old file as it was and raises ``UpdateError`` with one line saying why.
Running processes notice a replaced file through ``identify.reloading``.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import maxminddb
from maxminddb.errors import InvalidDatabaseError

from openfeeder import __version__
from openfeeder.config import Settings
from openfeeder.domain.errors import OpenfeederError

log = logging.getLogger(__name__)

Kind = Literal["asn", "city"]
KINDS: tuple[Kind, ...] = ("asn", "city")
Provider = Literal["dbip", "ipinfo", "geolite2"]

USER_AGENT = f"openfeeder/{__version__} (self-hosted visitor identification; IP database update)"
CHUNK = 1 << 16
# Well-known addresses every real database places: Google's and Cloudflare's public resolvers.
SANITY_ADDRESSES = ("8.8.8.8", "1.1.1.1")
# No provider published an MMDB file before this; a build date past now (plus a day of clock
# skew) is no real build either.
EARLIEST_BUILD = datetime(2015, 1, 1, tzinfo=UTC)
CLOCK_SKEW_SECONDS = 86_400

DEFAULT_BASE_URLS: dict[Provider, str] = {
    "dbip": "https://download.db-ip.com/free",
    "ipinfo": "https://ipinfo.io/data",
    "geolite2": "https://download.maxmind.com/geoip/databases",
}


class UpdateError(OpenfeederError):
    """A download or install that failed; the old files are untouched. One line."""


@dataclass(frozen=True)
class Attribution:
    """What a provider's licence asks to be shown where its data is: text and a link."""

    provider: Provider
    text: str
    url: str
    licence: str

    @property
    def html(self) -> str:
        return f'<a href="{self.url}">{self.text}</a>'


ATTRIBUTIONS: dict[Provider, Attribution] = {
    "dbip": Attribution("dbip", "IP Geolocation by DB-IP", "https://db-ip.com", "CC BY 4.0"),
    "ipinfo": Attribution(
        "ipinfo", "IP address data powered by IPinfo", "https://ipinfo.io", "CC BY-SA 4.0"
    ),
    "geolite2": Attribution(
        "geolite2",
        "This product includes GeoLite2 data created by MaxMind, available from "
        "https://www.maxmind.com",
        "https://www.maxmind.com",
        "GeoLite2 End User License Agreement",
    ),
}


def attribution(settings: Settings) -> Attribution:
    """The attribution for the configured provider (the dashboard footer shows it)."""
    return ATTRIBUTIONS[settings.geoip_provider]


# ── where the files live ──

_FILENAMES: dict[Provider, dict[Kind, str]] = {
    "dbip": {"asn": "dbip-asn-lite.mmdb", "city": "dbip-city-lite.mmdb"},
    "ipinfo": {"asn": "ipinfo_lite.mmdb", "city": "ipinfo_lite.mmdb"},
    "geolite2": {"asn": "GeoLite2-ASN.mmdb", "city": "GeoLite2-City.mmdb"},
}


def geoip_dir(settings: Settings) -> Path:
    return settings.data_dir / "geoip"


def default_path(settings: Settings, kind: Kind) -> Path:
    """Where ``geoip update`` puts the configured provider's database of this kind."""
    return geoip_dir(settings) / _FILENAMES[settings.geoip_provider][kind]


def database_path(settings: Settings, kind: Kind) -> Path:
    """The file the identifier reads and an update replaces: ``OPENFEEDER_ASN_MMDB`` /
    ``OPENFEEDER_CITY_MMDB`` when set, else the downloaded file in ``DATA_DIR/geoip/``."""
    explicit = settings.asn_mmdb if kind == "asn" else settings.city_mmdb
    return explicit if explicit is not None else default_path(settings, kind)


# ── what a provider publishes ──


@dataclass(frozen=True)
class Source:
    """One file a provider publishes and the kinds of database it is."""

    label: str  # e.g. "DB-IP City Lite", for messages
    kinds: tuple[Kind, ...]
    urls: tuple[str, ...]  # tried in order; the next only when one answers 404
    auth: tuple[str, str] | None = None
    checksum_urls: tuple[str, ...] = ()  # one per URL, SHA-256 of the downloaded file
    secrets: tuple[str, ...] = field(default=(), repr=False)  # never in a message


_TITLES: tuple[tuple[Kind, str], ...] = (("asn", "ASN"), ("city", "City"))
_EDITIONS: tuple[tuple[Kind, str], ...] = (("asn", "GeoLite2-ASN"), ("city", "GeoLite2-City"))


def _months(today: date) -> tuple[str, str]:
    previous = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    return f"{today:%Y-%m}", f"{previous:%Y-%m}"


def sources(settings: Settings, today: date | None = None) -> list[Source]:
    """The files to download for the configured provider; UpdateError when a key is missing."""
    provider = settings.geoip_provider
    base = settings.geoip_base_url or DEFAULT_BASE_URLS[provider]
    if provider == "dbip":
        # Monthly files; early in a month the new one may not be out yet.
        months = _months(today or datetime.now(UTC).date())
        return [
            Source(
                f"DB-IP {title} Lite",
                (kind,),
                tuple(f"{base}/dbip-{kind}-lite-{month}.mmdb.gz" for month in months),
            )
            for kind, title in _TITLES
        ]
    if provider == "ipinfo":
        if settings.ipinfo_token is None:
            raise UpdateError("the ipinfo provider needs OPENFEEDER_IPINFO_TOKEN")
        token = settings.ipinfo_token.get_secret_value()
        url = str(httpx.URL(f"{base}/ipinfo_lite.mmdb", params={"token": token}))
        return [Source("IPinfo Lite", ("asn", "city"), (url,), secrets=(token,))]
    if settings.maxmind_account_id is None or settings.maxmind_license_key is None:
        raise UpdateError(
            "the geolite2 provider needs OPENFEEDER_MAXMIND_ACCOUNT_ID and "
            "OPENFEEDER_MAXMIND_LICENSE_KEY"
        )
    key = settings.maxmind_license_key.get_secret_value()
    auth = (settings.maxmind_account_id, key)
    return [
        Source(
            edition,
            (kind,),
            (f"{base}/{edition}/download?suffix=tar.gz",),
            auth=auth,
            checksum_urls=(f"{base}/{edition}/download?suffix=tar.gz.sha256",),
            secrets=(key,),
        )
        for kind, edition in _EDITIONS
    ]


def _shown(url: str) -> str:
    """A URL as messages show it: no query string (a token may be there) and no user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# ── verification ──


@dataclass(frozen=True)
class Verified:
    database_type: str
    built: datetime


def _expected_type(provider: Provider, kind: Kind, database_type: str) -> bool:
    lowered = database_type.lower()
    if provider == "dbip":
        return lowered.startswith(f"dbip-{kind}")
    if provider == "ipinfo":
        return "ipinfo" in lowered
    return lowered == f"geolite2-{kind}"


def _sane_record(kind: Kind, record: object) -> bool:
    if not isinstance(record, Mapping):
        return False
    if kind == "asn":
        return any(record.get(key) for key in ("autonomous_system_number", "asn"))
    country = record.get("country")
    return bool(
        (isinstance(country, Mapping) and country.get("iso_code")) or record.get("country_code")
    )


def verify(path: Path, provider: Provider, kind: Kind, *, now: datetime | None = None) -> Verified:
    """Check that ``path`` is a database of this provider and kind: it opens as MMDB, its
    metadata names the expected type, its build date is sane and well-known public addresses
    resolve to records with the fields openfeeder reads."""
    moment = now or datetime.now(UTC)
    try:
        reader = maxminddb.open_database(str(path), maxminddb.MODE_MMAP)
    except (OSError, ValueError, InvalidDatabaseError) as error:
        raise UpdateError(f"not a readable MMDB database ({error})") from None
    try:
        metadata = reader.metadata()
        database_type = str(metadata.database_type)
        if not _expected_type(provider, kind, database_type):
            raise UpdateError(
                f"database type {database_type!r} is not a {provider} {kind} database"
            )
        built = datetime.fromtimestamp(int(metadata.build_epoch), UTC)
        if built < EARLIEST_BUILD or built.timestamp() > moment.timestamp() + CLOCK_SKEW_SECONDS:
            raise UpdateError(f"implausible build date {built:%Y-%m-%d}")
        for address in SANITY_ADDRESSES:
            try:
                record = reader.get(address)
            except (ValueError, InvalidDatabaseError) as error:
                raise UpdateError(f"looking up {address} fails ({error})") from None
            if not _sane_record(kind, record):
                raise UpdateError(f"{address} has no {kind} record in it")
        return Verified(database_type, built)
    finally:
        reader.close()


# ── downloading ──

Progress = Callable[[str, int, int | None], None]  # label, bytes so far, total if known


class TerminalProgress:
    """A one-line progress bar on a terminal; nothing when the stream is no TTY (CI logs)."""

    def __init__(self, stream: IO[str] | None = None, width: int = 30) -> None:
        self._stream = stream or sys.stderr
        self._width = width
        self._shown = 0.0
        self._active = self._stream.isatty()

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if not self._active:
            return
        finished = total is not None and done >= total
        now = time.monotonic()
        if not finished and now - self._shown < 0.1:
            return
        self._shown = now
        mib = f"{done / 2**20:.1f}"
        if total:
            filled = self._width * done // total
            bar = "#" * filled + "-" * (self._width - filled)
            line = f"{label} [{bar}] {mib}/{total / 2**20:.1f} MiB"
        else:
            line = f"{label} {mib} MiB"
        self._stream.write("\r" + line + ("\n" if finished else ""))
        self._stream.flush()


def _client(settings: Settings) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(settings.geoip_timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        max_redirects=5,
    )


class _NotFound(Exception):
    pass


class _NotModified(Exception):
    pass


def _http_failure(source: Source, url: str, error: httpx.HTTPError) -> UpdateError:
    shown = _shown(url)
    if isinstance(error, httpx.TimeoutException):
        try:
            seconds = error.request.extensions.get("timeout", {}).get("read")
        except RuntimeError:  # an error raised without its request
            seconds = None
        waited = f" after {seconds:g} s without data" if seconds else ""
        return UpdateError(f"{source.label}: timed out{waited} from {shown}")
    if isinstance(error, httpx.ConnectError):
        what = "cannot connect"
    elif isinstance(error, httpx.TooManyRedirects):
        what = "too many redirects"
    else:
        what = "download interrupted"
    detail = str(error) or error.__class__.__name__
    for secret in source.secrets:
        detail = detail.replace(secret, "***")
    return UpdateError(f"{source.label}: {what} ({detail}) from {shown}")


def _status_failure(source: Source, url: str, status: int) -> UpdateError:
    hint = " (check the provider's key settings)" if status in (401, 403) else ""
    return UpdateError(f"{source.label}: HTTP {status} from {_shown(url)}{hint}")


def _fetch(
    client: httpx.Client,
    source: Source,
    url: str,
    into: IO[bytes],
    progress: Progress | None,
    since: datetime | None,
) -> None:
    headers = {"If-Modified-Since": format_datetime(since, usegmt=True)} if since else {}
    try:
        with client.stream("GET", url, auth=source.auth, headers=headers) as response:
            if response.status_code == 304:
                raise _NotModified
            if response.status_code == 404:
                raise _NotFound
            if response.status_code != 200:
                raise _status_failure(source, url, response.status_code)
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            for chunk in response.iter_raw(CHUNK):
                into.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(source.label, done, total)
            if total is not None and done != total:
                raise UpdateError(
                    f"{source.label}: download interrupted after {done} of {total} bytes "
                    f"from {_shown(url)}"
                )
    except httpx.HTTPError as error:
        raise _http_failure(source, url, error) from None


def _checksum(client: httpx.Client, source: Source, url: str) -> str:
    """The SHA-256 a ``.sha256`` file names (``<hex>  <file name>``)."""
    try:
        response = client.get(url, auth=source.auth)
    except httpx.HTTPError as error:
        raise _http_failure(source, url, error) from None
    if response.status_code != 200:
        raise _status_failure(source, url, response.status_code)
    words = response.text.split()
    digest = words[0].lower() if words else ""
    if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise UpdateError(f"{source.label}: no SHA-256 checksum in {_shown(url)}")
    return digest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ── unpacking ──

_GZIP_MAGIC = b"\x1f\x8b"


def _copy(source: IO[bytes] | gzip.GzipFile, target: Path) -> None:
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, CHUNK)


def unpack(archive: Path, target: Path) -> None:
    """Write the MMDB database in ``archive`` (gzip, tar.gz or plain MMDB) to ``target``."""
    with archive.open("rb") as handle:
        magic = handle.read(2)
    try:
        if magic != _GZIP_MAGIC:
            shutil.copyfile(archive, target)
            return
        if _is_tar_gz(archive):
            with tarfile.open(archive, "r:gz") as tar:
                members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".mmdb")]
                if len(members) != 1:
                    raise UpdateError(f"the archive holds {len(members)} .mmdb files, not one")
                extracted = tar.extractfile(members[0])
                assert extracted is not None  # a regular file
                with extracted:
                    _copy(extracted, target)
            return
        with gzip.open(archive, "rb") as unzipped:
            _copy(unzipped, target)
    except (gzip.BadGzipFile, EOFError, zlib.error, tarfile.TarError) as error:
        raise UpdateError(f"corrupt or truncated archive ({error or 'unexpected end'})") from None


def _is_tar_gz(archive: Path) -> bool:
    try:
        with gzip.open(archive, "rb") as unzipped:
            header = unzipped.read(512)
    except (OSError, EOFError, zlib.error):
        return False  # unpacking as plain gzip then says what is wrong
    return len(header) == 512 and header[257:262] == b"ustar"


# ── installing ──


@dataclass(frozen=True)
class Installed:
    label: str
    kind: Kind
    path: Path
    database_type: str
    built: datetime
    unchanged: bool = False  # the provider had nothing newer (HTTP 304)


@dataclass
class _Staged:
    source: Source
    files: dict[Kind, tuple[Path, Verified]]  # kind → the verified temporary file


def _temp(directory: Path, suffix: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=directory, prefix=".openfeeder-", suffix=suffix)
    os.close(handle)
    return Path(name)


@contextlib.contextmanager
def _scratch() -> Iterator[list[Path]]:
    """Temporary files to remove at the end, whatever happens."""
    paths: list[Path] = []
    try:
        yield paths
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def _stage(
    settings: Settings, source: Source, archive: Path, scratch: list[Path], provider: Provider
) -> _Staged:
    files: dict[Kind, tuple[Path, Verified]] = {}
    unpacked: Path | None = None
    for kind in source.kinds:
        target = database_path(settings, kind)
        if unpacked is None or unpacked.parent != target.parent:
            # Next to its target, so the final os.replace is a rename on one file system.
            unpacked = _temp(target.parent, ".mmdb")
            scratch.append(unpacked)
            unpack(archive, unpacked)
        try:
            files[kind] = (unpacked, verify(unpacked, provider, kind))
        except UpdateError as error:
            raise UpdateError(f"{source.label}: {error}") from None
    return _Staged(source, files)


def _replace(settings: Settings, staged: Sequence[_Staged]) -> list[Installed]:
    installed: list[Installed] = []
    for item in staged:
        moved: dict[Path, Path] = {}  # staged file → where it went
        for kind, (path, verified) in item.files.items():
            target = database_path(settings, kind)
            if moved.get(path) != target:
                if path in moved:  # one file serves two kinds at two places
                    shutil.copyfile(moved[path], path)
                path.chmod(0o644)
                os.replace(path, target)
                moved[path] = target
            installed.append(
                Installed(item.source.label, kind, target, verified.database_type, verified.built)
            )
            log.info("installed %s as %s", item.source.label, target)
    return installed


@contextlib.contextmanager
def _disk_errors() -> Iterator[None]:
    """A file that cannot be written or read (disk full, no permission) is one line too."""
    try:
        yield
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise UpdateError(f"cannot write{where}: {error.strerror or error}") from None


@contextlib.contextmanager
def update_lock(settings: Settings) -> Iterator[None]:
    """One update at a time across processes: a lock file in ``DATA_DIR/geoip/``."""
    directory = geoip_dir(settings)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = (directory / ".update.lock").open("a")
    except OSError as error:
        raise UpdateError(f"cannot write to {directory}: {error.strerror}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpdateError("another IP database update is running") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _modified(paths: Sequence[Path]) -> datetime | None:
    """The oldest modification time of the installed files; None when one is missing."""
    try:
        oldest = min(path.stat().st_mtime for path in paths)
    except (OSError, ValueError):
        return None
    return datetime.fromtimestamp(oldest, UTC)


def _installed_unchanged(settings: Settings, source: Source, provider: Provider) -> list[Installed]:
    out = []
    for kind in source.kinds:
        target = database_path(settings, kind)
        os.utime(target)  # checked now: the schedule waits a full interval again
        try:
            verified = verify(target, provider, kind)
        except UpdateError as error:
            raise UpdateError(f"{source.label}: the installed {target}: {error}") from None
        out.append(
            Installed(source.label, kind, target, verified.database_type, verified.built, True)
        )
    return out


def update(
    settings: Settings,
    *,
    progress: Progress | None = None,
    force: bool = False,
    today: date | None = None,
) -> list[Installed]:
    """Download the configured provider's databases, verify them and replace the installed
    files; nothing is replaced unless every file verified. Without ``force`` a provider that
    answers 304 to ``If-Modified-Since`` keeps the installed file."""
    provider = settings.geoip_provider
    wanted = sources(settings, today)
    with _disk_errors(), update_lock(settings), _scratch() as scratch, _client(settings) as client:
        staged: list[_Staged] = []
        unchanged: list[Installed] = []
        for source in wanted:
            since = None if force else _modified([database_path(settings, k) for k in source.kinds])
            archive = _download(client, source, since, progress, scratch, settings)
            if archive is None:
                unchanged += _installed_unchanged(settings, source, provider)
                continue
            staged.append(_stage(settings, source, archive, scratch, provider))
        return unchanged + _replace(settings, staged)


def _download(
    client: httpx.Client,
    source: Source,
    since: datetime | None,
    progress: Progress | None,
    scratch: list[Path],
    settings: Settings,
) -> Path | None:
    """The downloaded file (checksum checked), or None when the provider has nothing newer."""
    directory = database_path(settings, source.kinds[0]).parent
    for index, url in enumerate(source.urls):
        archive = _temp(directory, ".download")
        scratch.append(archive)
        try:
            with archive.open("wb") as handle:
                _fetch(client, source, url, handle, progress, since)
        except _NotModified:
            return None
        except _NotFound:
            if index + 1 < len(source.urls):
                log.info("%s: %s not published yet; trying the one before", source.label, url)
                continue
            raise _status_failure(source, url, 404) from None
        if source.checksum_urls:
            expected = _checksum(client, source, source.checksum_urls[index])
            if _sha256(archive) != expected:
                raise UpdateError(f"{source.label}: checksum mismatch for {_shown(url)}")
        return archive
    raise UpdateError(f"{source.label}: no download URL")  # sources() always gives one


def install_file(settings: Settings, path: Path) -> list[Installed]:
    """Install a local file (gzip, tar.gz or plain MMDB) as the configured provider's
    database of each kind it verifies as, for machines with no internet."""
    if not path.is_file():
        raise UpdateError(f"{path} is not a file")
    provider = settings.geoip_provider
    with _disk_errors(), update_lock(settings), _scratch() as scratch:
        plain = _temp(geoip_dir(settings), ".mmdb")
        scratch.append(plain)
        unpack(path, plain)
        kinds: list[Kind] = []
        problems: list[str] = []
        for kind in KINDS:
            try:
                verify(plain, provider, kind)
                kinds.append(kind)
            except UpdateError as error:
                problems.append(str(error))
        if not kinds:
            # A database of another type says what it is; else the first thing wrong with it.
            other = [p for p in problems if not p.startswith("database type ")] or [
                problems[0].split(" is not ")[0]
            ]
            raise UpdateError(f"{path.name} is no {provider} ASN or City database: {other[0]}")
        staged = _stage(settings, Source(path.name, tuple(kinds), ()), plain, scratch, provider)
        return _replace(settings, [staged])


def describe(installed: Installed) -> str:
    state = "unchanged" if installed.unchanged else "installed"
    return (
        f"{installed.label} {state}: {installed.path} ({installed.database_type}, built "
        f"{installed.built:%Y-%m-%d})"
    )


def status(settings: Settings) -> list[dict[str, Any]]:
    """What is installed where, for ``geoip status``."""
    rows: list[dict[str, Any]] = []
    for kind in KINDS:
        path = database_path(settings, kind)
        row: dict[str, Any] = {"kind": kind, "path": str(path), "installed": path.is_file()}
        if path.is_file():
            try:
                with maxminddb.open_database(str(path), maxminddb.MODE_MMAP) as reader:
                    meta = reader.metadata()
                row["database_type"] = str(meta.database_type)
                row["built"] = datetime.fromtimestamp(int(meta.build_epoch), UTC).isoformat()
            except (OSError, ValueError, InvalidDatabaseError) as error:
                row["error"] = str(error)
        rows.append(row)
    return rows
