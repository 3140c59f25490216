"""The ``openfeeder-client`` command line: accounts, feeds, leads, visits and exports, written
as a table, JSON, JSON lines or CSV.

Results go to stdout and nothing else does: progress bars, messages and errors go to stderr,
so the output can be piped. The base URL and the token come from ``--base-url`` and
``--token`` or from ``OPENFEEDER_BASE_URL`` and ``OPENFEEDER_TOKEN``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from openfeeder_client._version import __version__
from openfeeder_client.client import DEFAULT_BASE_URL, Client
from openfeeder_client.errors import OpenfeederClientError
from openfeeder_client.models import ExportRequest
from openfeeder_client.pagination import Listing
from openfeeder_client.rows import Model, Row, to_row

__all__ = ["cli"]

FORMATS = ("table", "json", "jsonl", "csv")
# The columns a table shows (json, jsonl and csv carry every column of the rows).
TABLE_COLUMNS = {
    "accounts": ["id", "name", "subscription", "timezone", "website_tracking_status"],
    "feeds": ["id", "name", "criteria"],
    "leads": [
        "id", "name", "quality", "visits", "last_visit_date", "location_country",
        "location_city", "website_url",
    ],
    "visits": [
        "started_at", "lead_id", "source", "medium", "page_depth", "visit_length",
        "location_city", "visit_route",
    ],
    "export": [
        "id", "name", "quality", "stats_visits", "stats_pageviews", "stats_last_visit",
        "location_country", "location_city",
    ],
}  # fmt: skip
PIPE_WIDTH = 240  # a table written to a pipe or file is not squeezed into 80 columns

M = TypeVar("M", bound=Model)


class _Group(click.Group):
    """Turns the client's exceptions and network failures into a one-line error (exit 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpenfeederClientError as error:
            raise click.ClickException(str(error)) from error
        except httpx.HTTPError as error:
            raise click.ClickException(f"{type(error).__name__}: {error}") from error


@click.group(cls=_Group)
@click.option(
    "--base-url",
    envvar="OPENFEEDER_BASE_URL",
    default=DEFAULT_BASE_URL,
    show_default=True,
    show_envvar=True,
    help="Base URL of the API.",
)
@click.option("--token", envvar="OPENFEEDER_TOKEN", show_envvar=True, help="API token (required).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per request.")
@click.option("--user-agent", default=None, help="User-Agent to send (name your integration).")
@click.version_option(__version__, prog_name="openfeeder-client")
@click.pass_context
def cli(
    ctx: click.Context, base_url: str, token: str | None, timeout: float, user_agent: str | None
) -> None:
    """Read accounts, custom feeds, leads and visits from an openfeeder (or Leadfeeder)
    API, and export leads."""

    def connect() -> Client:
        if not token:
            raise click.UsageError("no API token: pass --token or set OPENFEEDER_TOKEN")
        return ctx.with_resource(
            Client(token, base_url, timeout=timeout, user_agent=user_agent, rate_limit_retries=5)
        )

    ctx.obj = connect


def _client(ctx: click.Context) -> Client:
    connect: Callable[[], Client] = ctx.find_root().obj
    return connect()


def _format_option(default: str = "table") -> Callable[[Callable[..., Any]], Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="Output format.",
    )


_progress_option = click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on stderr [default: when stderr is a terminal and stdout "
    "is not, or the output is a table].",
)
_day = click.DateTime(formats=["%Y-%m-%d"])
_start = click.option("--start", type=_day, required=True, metavar="YYYY-MM-DD", help="First day.")
_end = click.option(
    "--end", type=_day, required=True, metavar="YYYY-MM-DD", help="Last day (included)."
)
_page_size = click.option(
    "--page-size",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    help="Results per request.",
)


@cli.command()
@_format_option()
@click.pass_context
def accounts(ctx: click.Context, fmt: str) -> None:
    """The accounts the token's user is a member of."""
    _emit(map(to_row, _client(ctx).accounts()), fmt, TABLE_COLUMNS["accounts"])


@cli.command()
@click.argument("account")
@_format_option()
@click.pass_context
def feeds(ctx: click.Context, account: str, fmt: str) -> None:
    """The custom feeds of ACCOUNT."""
    _emit(map(to_row, _client(ctx).custom_feeds(account)), fmt, TABLE_COLUMNS["feeds"])


@cli.command()
@click.argument("account")
@_start
@_end
@click.option("--feed", default=None, help="Only the leads of this custom feed.")
@_page_size
@_format_option()
@_progress_option
@click.pass_context
def leads(
    ctx: click.Context,
    account: str,
    start: datetime,
    end: datetime,
    feed: str | None,
    page_size: int,
    fmt: str,
    progress: bool | None,
) -> None:
    """The leads of ACCOUNT that visited between --start and --end."""
    listing = _client(ctx).leads(account, start.date(), end.date(), feed=feed, page_size=page_size)
    _emit_listing(listing, "leads", fmt, progress)


@cli.command()
@click.argument("account")
@_start
@_end
@click.option("--lead", default=None, help="Only the visits of this lead.")
@_page_size
@_format_option()
@_progress_option
@click.pass_context
def visits(
    ctx: click.Context,
    account: str,
    start: datetime,
    end: datetime,
    lead: str | None,
    page_size: int,
    fmt: str,
    progress: bool | None,
) -> None:
    """The visits to ACCOUNT between --start and --end, newest first."""
    listing = _client(ctx).visits(account, start.date(), end.date(), lead=lead, page_size=page_size)
    _emit_listing(listing, "visits", fmt, progress)


@cli.command()
@click.argument("account")
@_start
@_end
@click.option("--feed", default="all_leads", show_default=True, help="The custom feed.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save the report (JSON, as the server wrote it) here instead of printing rows.",
)
@click.option(
    "--wait", type=float, default=600.0, show_default=True, help="Seconds to wait for it."
)
@_format_option()
@_progress_option
@click.pass_context
def export(
    ctx: click.Context,
    account: str,
    start: datetime,
    end: datetime,
    feed: str,
    output: Path | None,
    wait: float,
    fmt: str,
    progress: bool | None,
) -> None:
    """Export the leads of a feed of ACCOUNT between --start and --end (no 10 000 cap):
    request it, wait for it, then download it."""
    client = _client(ctx)
    with _progress_bar(_show_progress(progress, fmt)) as bar:
        task = bar.add_task("requesting export", total=None, detail="")

        def polled(state: ExportRequest) -> None:
            bar.update(task, description=f"export {state.status}")

        def downloaded(done: int, total: int | None) -> None:
            detail = f"{_size(done)}/{_size(total)}" if total else _size(done)
            bar.update(task, description="downloading", completed=done, total=total, detail=detail)

        created = client.request_export(account, feed, start.date(), end.date())
        finished = client.wait_for_export(created, timeout=wait, on_poll=polled)
        if output is not None:
            size = client.download_export(finished, output, on_progress=downloaded)
        else:
            rows = client.export_rows(finished, on_progress=downloaded)
        bar.update(task, description="downloaded")
    if output is not None:
        click.echo(f"saved export {finished.id} ({_size(size)}) to {output}", err=True)
    else:
        _emit(map(to_row, rows), fmt, TABLE_COLUMNS["export"])


# ── output ───────────────────────────────────────────────────────────────────────────────


def _emit(rows: Iterable[Row], fmt: str, columns: Sequence[str]) -> None:
    """Write the rows to stdout, streaming except for a table (which needs every row)."""
    out = sys.stdout
    if fmt == "table":
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        Console(file=out, width=None if out.isatty() else PIPE_WIDTH).print(table)
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "json":
        out.write("[")
        for index, row in enumerate(rows):
            out.write(("," if index else "") + "\n  " + json.dumps(row, ensure_ascii=False))
        out.write("\n]\n")
    else:
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), extrasaction="ignore")
                writer.writeheader()
            writer.writerow(row)
    out.flush()


def _emit_listing(listing: Listing[M], what: str, fmt: str, progress: bool | None) -> None:
    """Stream a listing's rows out with a progress bar; a table is printed once the bar is
    done, so the two never share the terminal."""
    with _progress_bar(_show_progress(progress, fmt)) as bar:
        rows = _listed(listing, bar, what)
        if fmt != "table":
            _emit(rows, fmt, TABLE_COLUMNS[what])
            return
        collected = list(rows)
    _emit(collected, fmt, TABLE_COLUMNS[what])


def _listed(listing: Listing[M], bar: Progress, what: str) -> Iterator[Row]:
    """The listing's rows, page by page, advancing the bar (its total from the first page)."""
    task: TaskID = bar.add_task(what, total=None, detail="")
    count = 0
    for page in listing.pages():
        count += len(page.items)
        total = page.total_count
        detail = f"{count}/{total}" if total is not None else str(count)
        bar.update(task, completed=count, total=total, detail=detail)
        yield from map(to_row, page.items)


def _show_progress(option: bool | None, fmt: str) -> bool:
    if option is not None:
        return option
    return sys.stderr.isatty() and (fmt == "table" or not sys.stdout.isatty())


def _progress_bar(enabled: bool) -> Progress:
    # Never redirect stdout into the bar's console: that console is stderr.
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True, force_terminal=enabled or None),
        disable=not enabled,
        redirect_stdout=False,
        redirect_stderr=False,
    )


def _size(count: int | None) -> str:
    if count is None:
        return "?"
    if count < 1024:
        return f"{count} B"
    value, unit = count / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"
