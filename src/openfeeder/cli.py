"""The ``openfeeder`` command: serve, worker, migrate, demo, users/accounts/members/tokens
administration and the company import. Commands parse options, call one service, and print;
``--json`` prints machine-readable output on stdout. Every documented failure is one
``Error: …`` line on stderr with exit code 1 (usage errors: 2), never a traceback.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from alembic.util import CommandError
from pydantic import ValidationError

from openfeeder import __version__, logs
from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK
from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.models import Account
from openfeeder.services import admin, signin
from openfeeder.services import members as member_services
from openfeeder.store.db import Database


class _Cli(click.Group):
    """The root group: the one place errors become ``Error: <message>`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpenfeederError as error:
            raise click.ClickException(str(error)) from None
        except sa.exc.SQLAlchemyError as error:
            raise click.ClickException(_database_error(error)) from None
        except CommandError as error:  # e.g. a database migrated by a newer openfeeder
            raise click.ClickException(f"migration failed: {error}") from None


def _database_error(error: sa.exc.SQLAlchemyError) -> str:
    # SQLAlchemy messages span lines (statement, parameters, a help link); the first says it.
    text = str(getattr(error, "orig", None) or error).strip()
    line = text.splitlines()[0] if text else error.__class__.__name__
    hint = ""
    if "no such table" in line or ("relation" in line and "does not exist" in line):
        hint = " (run `openfeeder migrate` first)"
    return f"database error: {line}{hint}"


def _settings(ctx: click.Context) -> Settings:
    """The settings, read from the environment on first use (so ``--help`` never needs them)."""
    root = ctx.find_root()
    if isinstance(root.obj, Settings):
        return root.obj
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"OPENFEEDER_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise click.ClickException(f"invalid settings: {problems}") from None
    root.obj = settings
    return settings


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        db.dispose()


def _public_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _account_json(account: Account) -> dict[str, Any]:
    # Account ids are strings in JSON, as the API shows them.
    return {
        "id": str(account.id),
        "name": account.name,
        "subscription": account.subscription,
        "on_trial": account.on_trial,
        "timezone": account.timezone,
        "script_hash": account.script_hash,
    }


def _plan(account: Account) -> str:
    return f"{account.subscription}, trial" if account.on_trial else account.subscription


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


@click.group(cls=_Cli)
@click.version_option(__version__, prog_name="openfeeder")
def main() -> None:
    """openfeeder: self-hosted B2B website-visitor identification with a
    Leadfeeder-compatible API. Settings come from OPENFEEDER_* environment variables."""


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create the database schema, or bring it to the newest version."""
    settings = _settings(ctx)
    with _database(settings) as db:
        db.migrate()
    url = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    click.echo(f"Database is up to date: {url}")


@main.command()
@click.option("--host", help="Address to bind to [default: OPENFEEDER_HOST].")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port to listen on [default: OPENFEEDER_PORT]."
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Migrate, then serve the API, tracker and dashboard over HTTP."""
    import uvicorn

    from openfeeder.app import create_app

    settings = _settings(ctx)
    overrides = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    settings = settings.model_copy(update=overrides)
    with _database(settings) as db:
        db.migrate()
    logs.configure(settings.log_format)
    try:
        app = create_app(settings)
        # Open the IP databases, name servers and enrichment template now, so a bad setting
        # is one line here rather than a 500 on the first /ip-enrich.
        app.state.services.identifier()
    except OpenfeederError as error:
        raise click.ClickException(str(error)) from None
    # What start-up built (modules, the app, its services) lives as long as the process:
    # moved out of the collector's reach, full collections no longer walk it, which took
    # 50-60 ms pauses off the tracker's tail latency (BENCHMARKS.md).
    gc.freeze()
    geoip = _geoip_schedule(settings)
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from loopback (or
    # FORWARDED_ALLOW_IPS) before our own walk over OPENFEEDER_TRUSTED_PROXIES runs, letting
    # a local process choose the address a hit is stored with.
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            proxy_headers=False,
            access_log=settings.access_log,
            log_config=None,  # logs.configure's, already in place: uvicorn's loggers propagate
        )
    finally:
        if geoip is not None:
            geoip.stop(timeout=5)


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the tracking pipeline and queued jobs (exports) until stopped (scale-out mode)."""
    from openfeeder.worker import run_worker

    settings = _settings(ctx)
    # The worker does not migrate (serve or `migrate` does), but it never runs on a store a
    # newer openfeeder migrated.
    with _database(settings) as db:
        db.refuse_unknown()
    # Jobs log through the standard library; a foreground worker shows that on stderr.
    logs.configure(settings.log_format)
    try:
        run_worker(settings)
    except OpenfeederError as error:  # a setting the pipeline could not open
        raise click.ClickException(str(error)) from None


@main.command()
@json_option
@click.pass_context
def demo(ctx: click.Context, as_json: bool) -> None:
    """Load the demo data (once) and print a fresh API token for it."""
    from openfeeder.demo import load_demo

    settings = _settings(ctx)
    with _database(settings) as db:
        db.migrate()
        result = load_demo(db, settings)
    if as_json:
        _echo_json(
            {
                "token": result.token,
                "user": result.user.email,
                "password": result.password,
                "dashboard": f"{_public_url(settings)}/app",
                "accounts": [
                    {"id": str(a.id), "name": a.name, "subscription": a.subscription}
                    for a in result.accounts
                ],
            }
        )
        return
    url = _public_url(settings)
    click.echo(
        "Demo loaded." if result.created else "Demo already loaded; new token and password issued."
    )
    click.echo(f"Dashboard: {url}/app")
    click.echo(f"  Email:    {result.user.email}")
    click.echo(f"  Password: {result.password}")
    click.echo(f"API:    {url}")
    click.echo(f"Token:  {result.token}")
    click.echo("Accounts:")
    for account in result.accounts:
        click.echo(f"  {account.id:>6}  {account.name:<20} {_plan(account)}")
    click.echo(f'Try:    curl -H "Authorization: Token token={result.token}" {url}/accounts')


@main.group()
def hits() -> None:
    """Look at tracker hits the pipeline quarantined, and process them again."""


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@hits.command("quarantined")
@click.option("--account", "account_id", type=int, help="Only this account's hits.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@json_option
@click.pass_context
def hits_quarantined(ctx: click.Context, account_id: int | None, limit: int, as_json: bool) -> None:
    """List quarantined hits, newest first: id, account, received, error."""
    from openfeeder.services import hits as hits_service

    with _database(_settings(ctx)) as db:
        found = hits_service.quarantined(db, account_id, limit)
    rows = [
        {
            "id": hit.id,
            "account_id": hit.account_id,
            "received_at": _when(hit.received_at),
            "quarantined_at": _when(hit.processed_at),
            "error": hit.error,
        }
        for hit in found
    ]
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("No quarantined hits.")
        return
    click.echo(f"{'ID':>10}  {'ACCOUNT':>7}  {'RECEIVED':<20}  ERROR")
    for row in rows:
        click.echo(
            f"{row['id']:>10}  {row['account_id']:>7}  {row['received_at']:<20}  {row['error']}"
        )


@hits.command("retry")
@click.argument("hit_ids", nargs=-1, type=int, metavar="ID...")
@click.option("--all", "every", is_flag=True, help="Release every quarantined hit.")
@click.pass_context
def hits_retry(ctx: click.Context, hit_ids: tuple[int, ...], every: bool) -> None:
    """Release quarantined hits (by id, or --all) so the pipeline processes them again."""
    from openfeeder.services import hits as hits_service

    if bool(hit_ids) == every:
        raise click.UsageError("give hit ids or --all (not both)")
    with _database(_settings(ctx)) as db:
        released = hits_service.release(db, None if every else hit_ids)
    click.echo(f"{released} hit(s) released; the pipeline processes them again.")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _store_file_json(found: Any) -> dict[str, Any]:
    return {
        "path": str(found.path),
        "bytes": found.size,
        "schema_revision": found.schema.current,
        "hits": found.hits,
        "newest_hit_at": _when(found.newest_hit) if found.newest_hit else None,
    }


def _store_file_line(found: Any) -> str:
    newest = f"newest hit {_when(found.newest_hit)}" if found.newest_hit else "no hits"
    return (
        f"{_size(found.size)}, schema revision {found.schema.current}, "
        f"{found.hits} hit(s), {newest}"
    )


@main.command()
@click.argument("path", metavar="PATH", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@json_option
@click.pass_context
def backup(ctx: click.Context, path: Path, force: bool, as_json: bool) -> None:
    """Copy the SQLite store to PATH, consistently, while serve and worker keep writing."""
    from openfeeder.services import backup as backups

    written = backups.backup(_settings(ctx).database_url, path, force=force)
    if as_json:
        _echo_json(_store_file_json(written))
        return
    click.echo(f"Backed up to {written.path}: {_store_file_line(written)}.")


@main.command()
@click.argument("path", metavar="PATH", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Restore even if another process has the store open.")
@json_option
@click.pass_context
def restore(ctx: click.Context, path: Path, force: bool, as_json: bool) -> None:
    """Replace the SQLite store with the backup at PATH (checked first; the old store is kept)."""
    from openfeeder.services import backup as backups

    done = backups.restore(_settings(ctx).database_url, path, SYSTEM_CLOCK, force=force)
    if as_json:
        _echo_json(
            _store_file_json(done.backup)
            | {"store": str(done.store), "set_aside": str(done.set_aside or "") or None}
        )
        return
    click.echo(f"Restored {done.store} from {path}: {_store_file_line(done.backup)}.")
    if done.set_aside is not None:
        click.echo(f"The replaced store is kept at {done.set_aside}.")
    if not done.backup.schema.at_head:
        click.echo(
            f"Run `openfeeder migrate` (or start serve) to bring it from schema revision "
            f"{done.backup.schema.current} to {done.backup.schema.head}."
        )


@main.group()
def forget() -> None:
    """Delete one company's or one visitor's data from an account (docs/privacy.md)."""


dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Print what would be deleted; delete nothing."
)


def _echo_forgotten(found: Any, dry_run: bool, as_json: bool) -> None:
    if as_json:
        _echo_json(
            {
                "dry_run": dry_run,
                "deleted": dict(sorted(found.deleted.items())),
                "leads_recounted": found.leads_recounted,
                "exports_that_may_hold_it": found.exports,
            }
        )
        return
    verb = "Would delete" if dry_run else "Deleted"
    if not found.deleted:
        click.echo(f"{verb} nothing: no row holds it.")
    else:
        click.echo(f"{verb}:")
        for table, rows in sorted(found.deleted.items()):
            click.echo(f"  {rows:>8}  {table}")
    if found.leads_recounted:
        recount = "would be" if dry_run else "were"
        click.echo(f"{found.leads_recounted} other lead(s)' totals {recount} counted afresh.")
    if found.exports:
        click.echo(
            "Export files made earlier may still hold it until they expire: "
            + ", ".join(found.exports)
        )


@forget.command("company")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--lead", "lead_id", help="The lead's id (as the API shows it).")
@click.option("--domain", help="Every lead of the company with this domain.")
@dry_run_option
@json_option
@click.pass_context
def forget_company(
    ctx: click.Context,
    account_id: int,
    lead_id: str | None,
    domain: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Delete a lead (or all leads of a company) with its visits, hits, stats and notes."""
    from openfeeder.services import forget as forgetting

    if (lead_id is None) == (domain is None):
        raise click.UsageError("give --lead or --domain (not both)")
    with _database(_settings(ctx)) as db:
        found = forgetting.forget_company(
            db, SYSTEM_CLOCK, account_id, lead_id=lead_id, domain=domain, dry_run=dry_run
        )
    _echo_forgotten(found, dry_run, as_json)


@forget.command("visitor")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--ip", help="Every hit received from this IP address, and their visits.")
@click.option("--client-id", help="The browser's openfeeder client id (lfClientId).")
@dry_run_option
@json_option
@click.pass_context
def forget_visitor(
    ctx: click.Context,
    account_id: int,
    ip: str | None,
    client_id: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Delete one visitor's hits, visits and sessions; recount the leads they made."""
    from openfeeder.services import forget as forgetting

    if ip is None and client_id is None:
        raise click.UsageError("give --ip, --client-id or both")
    with _database(_settings(ctx)) as db:
        found = forgetting.forget_visitor(
            db, SYSTEM_CLOCK, account_id, ip=ip, client_id=client_id, dry_run=dry_run
        )
    _echo_forgotten(found, dry_run, as_json)


@main.group()
def users() -> None:
    """Manage users (people who hold API tokens)."""


def _new_password() -> str:
    """A password typed twice at a prompt that does not echo it."""
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users.command("create")
@click.option("--email", required=True, help="Email address; identifies the user.")
@click.option("--name", help="Display name [default: the part of the email before @].")
@click.option(
    "--password", "ask_password", is_flag=True, help="Ask for a dashboard password (not echoed)."
)
@json_option
@click.pass_context
def users_create(
    ctx: click.Context, email: str, name: str | None, ask_password: bool, as_json: bool
) -> None:
    """Create a user (with --password, one who can sign in to the dashboard)."""
    password = signin.check_password(_new_password()) if ask_password else None
    with _database(_settings(ctx)) as db:
        user = admin.create_user(db, email, name)
        if password is not None:
            signin.set_password(db, user.email, password)
    if as_json:
        _echo_json({"id": user.id, "email": user.email, "name": user.name})
    else:
        click.echo(f"Created user {user.id}: {user.name} <{user.email}>")


@users.command("set-password")
@click.option("--email", required=True, help="Email of an existing user.")
@click.pass_context
def users_set_password(ctx: click.Context, email: str) -> None:
    """Set a user's dashboard password (asked for, not echoed); ends their sessions."""
    password = signin.check_password(_new_password())
    with _database(_settings(ctx)) as db:
        user = signin.set_password(db, email, password)
    click.echo(f"Password set for {user.email}; their dashboard sessions have ended.")


@main.group()
def accounts() -> None:
    """Manage accounts (tracked websites)."""


@accounts.command("create")
@click.option("--name", required=True, help="Account name.")
@click.option(
    "--subscription",
    type=click.Choice(admin.SUBSCRIPTIONS),
    default="premium",
    show_default=True,
    help="lite accounts get 402 on leads, visits and exports.",
)
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="IANA time zone for dates and hours (e.g. Europe/Helsinki).",
)
@click.option("--trial", is_flag=True, help="Mark the account as on trial (premium features).")
@json_option
@click.pass_context
def accounts_create(
    ctx: click.Context, name: str, subscription: str, timezone: str, trial: bool, as_json: bool
) -> None:
    """Create an account with its own tracking script."""
    with _database(_settings(ctx)) as db:
        account = admin.create_account(
            db, name=name, subscription=subscription, timezone=timezone, on_trial=trial
        )
    if as_json:
        _echo_json(_account_json(account))
    else:
        click.echo(
            f"Created account {account.id}: {account.name} ({_plan(account)}, "
            f"{account.timezone}); script hash {account.script_hash}"
        )


@accounts.command("update")
@click.argument("account_id", metavar="ID", type=int)
@click.option("--name", help="New account name [default: unchanged].")
@click.option("--timezone", help="New IANA time zone [default: unchanged].")
@json_option
@click.pass_context
def accounts_update(
    ctx: click.Context, account_id: int, name: str | None, timezone: str | None, as_json: bool
) -> None:
    """Rename an account or change its time zone."""
    with _database(_settings(ctx)) as db:
        account = admin.get_account(db, account_id)
        member_services.update_account(
            db, account, account.name if name is None else name, timezone or account.timezone
        )
        account = admin.get_account(db, account_id)
    if as_json:
        _echo_json(_account_json(account))
    else:
        click.echo(f"Account {account.id}: {account.name} ({account.timezone})")


@main.group()
def members() -> None:
    """Manage who can see which account."""


@members.command("add")
@click.option("--user", "email", required=True, help="Email of an existing user.")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@json_option
@click.pass_context
def members_add(ctx: click.Context, email: str, account_id: int, as_json: bool) -> None:
    """Give a user access to an account."""
    with _database(_settings(ctx)) as db:
        account = admin.add_member(db, email, account_id)
    address = admin.normalize_email(email)
    if as_json:
        _echo_json({"user": address, "account": _account_json(account)})
    else:
        click.echo(f"{address} can now see account {account.id}: {account.name}")


@members.command("set-role")
@click.option("--user", "email", required=True, help="Email of a member.")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--role", type=click.Choice(member_services.ROLES), required=True, help="New role.")
@click.pass_context
def members_set_role(ctx: click.Context, email: str, account_id: int, role: str) -> None:
    """Make a member an admin or a plain member (an account keeps at least one admin)."""
    with _database(_settings(ctx)) as db:
        user = admin.get_user(db, email)
        account = admin.get_account(db, account_id)
        member_services.set_role(db, account, user.id, role)
    click.echo(f"{user.email} is now {role} of account {account.id}: {account.name}")


@members.command("remove")
@click.option("--user", "email", required=True, help="Email of a member.")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.pass_context
def members_remove(ctx: click.Context, email: str, account_id: int) -> None:
    """End a user's access to an account (not its last admin's)."""
    with _database(_settings(ctx)) as db:
        user = admin.get_user(db, email)
        account = admin.get_account(db, account_id)
        member_services.remove_member(db, account, user.id)
    click.echo(f"{user.email} can no longer see account {account.id}: {account.name}")


@main.group()
def invitations() -> None:
    """Invite people to an account by link (they sign up on the page it opens)."""


@invitations.command("create")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--email", required=True, help="Email of the person invited.")
@click.option(
    "--role",
    type=click.Choice(member_services.ROLES),
    default="member",
    show_default=True,
    help="Role they get.",
)
@json_option
@click.pass_context
def invitations_create(
    ctx: click.Context, account_id: int, email: str, role: str, as_json: bool
) -> None:
    """Create an invitation and print its link (the only time it is shown)."""
    settings = _settings(ctx)
    with _database(settings) as db:
        account = admin.get_account(db, account_id)
        invited = member_services.invite(
            db, SYSTEM_CLOCK, account, None, email, role, _public_url(settings)
        )
    invitation = invited.invitation
    expires = invitation.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if as_json:
        _echo_json(
            {
                "id": invitation.id,
                "account": str(account.id),
                "email": invitation.email,
                "role": invitation.role,
                "expires_at": expires,
                "link": invited.link,
            }
        )
    else:
        click.echo(
            f"Invitation {invitation.id} for {invitation.email} ({role}) to account "
            f"{account.id}, good until {expires} (shown only now):"
        )
        click.echo(invited.link)


@main.group()
def tokens() -> None:
    """Manage API tokens (stored hashed; shown once, at creation)."""


@tokens.command("create")
@click.option("--user", "email", required=True, help="Email of an existing user.")
@json_option
@click.pass_context
def tokens_create(ctx: click.Context, email: str, as_json: bool) -> None:
    """Create an API token and print it (the only time it is shown)."""
    with _database(_settings(ctx)) as db:
        token_id, token = admin.create_token(db, email)
    if as_json:
        _echo_json({"id": token_id, "token": token, "user": admin.normalize_email(email)})
    else:
        click.echo(f"Token {token_id} for {admin.normalize_email(email)} (shown only now):")
        click.echo(token)


@tokens.command("disable")
@click.argument("token_id", metavar="ID", type=int)
@json_option
@click.pass_context
def tokens_disable(ctx: click.Context, token_id: int, as_json: bool) -> None:
    """Disable a token: requests with it get 403 from now on."""
    with _database(_settings(ctx)) as db:
        admin.disable_token(db, token_id)
    if as_json:
        _echo_json({"id": token_id, "disabled": True})
    else:
        click.echo(f"Token {token_id} is disabled.")


@tokens.command("list")
@click.option("--user", "email", required=True, help="Email of an existing user.")
@json_option
@click.pass_context
def tokens_list(ctx: click.Context, email: str, as_json: bool) -> None:
    """List a user's tokens: id, hint (last 4 characters), disabled, created at."""
    with _database(_settings(ctx)) as db:
        infos = admin.list_tokens(db, email)
    rows = [
        {
            "id": info.id,
            "hint": info.hint,
            "disabled": info.disabled,
            "created_at": info.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for info in infos
    ]
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo(f"{admin.normalize_email(email)} has no tokens.")
        return
    click.echo(f"{'ID':>6}  {'HINT':<8}  {'STATUS':<8}  CREATED")
    for row in rows:
        status = "disabled" if row["disabled"] else "active"
        click.echo(f"{row['id']:>6}  …{row['hint']:<7}  {status:<8}  {row['created_at']}")


@main.group()
def companies() -> None:
    """Manage the company database: firmographics, IP ranges, domains, AS numbers."""


@companies.command("import")
@click.argument("file", metavar="FILE", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["auto", "wikidata"]),
    default="auto",
    show_default=True,
    help="auto: CSV or JSONL by the file's name and contents; wikidata: the SPARQL JSON "
    "results of the query in docs/identification.md, merged in by domain.",
)
@json_option
@click.pass_context
def companies_import(ctx: click.Context, file: Path, file_format: str, as_json: bool) -> None:
    """Import companies from a CSV or JSONL file (or Wikidata's SPARQL JSON results);
    importing again updates them in place."""
    from openfeeder.identify.companies import import_companies
    from openfeeder.identify.wikidata import import_wikidata

    if file_format == "wikidata":
        with _database(_settings(ctx)) as db:
            found = import_wikidata(db, file)
        if as_json:
            _echo_json(asdict(found))
            return
        click.echo(f"Read {found.items} organisations, {found.skipped} skipped.")
        if found.first_skip:
            click.echo(f"First skipped: {found.first_skip}")
        if found.imported is None:
            return
        result = found.imported
    else:
        with _database(_settings(ctx)) as db:
            result = import_companies(db, file)
    if as_json:
        _echo_json(asdict(result))
    else:
        click.echo(
            f"Imported {result.companies} companies ({result.created} new, {result.updated} "
            f"updated): {result.ranges} IP ranges, {result.domains} domains, "
            f"{result.asns} AS numbers."
        )


# ── traffic rules ──

_RULE_KINDS = (
    "ip_range",
    "country",
    "hostname",
    "company",
)  # services.traffic.KINDS (a test keeps them equal)


@main.group()
def rules() -> None:
    """An account's traffic rules: own IP ranges, excluded countries and host names (their
    visits are dropped), hidden companies (their leads are left out of lead lists)."""


@rules.command("add")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--kind", type=click.Choice(_RULE_KINDS), required=True, help="What the value is.")
@click.argument("value")
@click.pass_context
def rules_add(ctx: click.Context, account_id: int, kind: str, value: str) -> None:
    """Add a rule (e.g. --kind ip_range 198.51.100.0/24, --kind company acme.example)."""
    from openfeeder.services import traffic

    with _database(_settings(ctx)) as db:
        stored = traffic.add_rule(db, admin.get_account(db, account_id), kind, value)
    click.echo(f"Added {kind} {stored} to account {account_id}.")


@rules.command("list")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@json_option
@click.pass_context
def rules_list(ctx: click.Context, account_id: int, as_json: bool) -> None:
    """List an account's rules."""
    from openfeeder.services import traffic

    with _database(_settings(ctx)) as db:
        found = traffic.rules(db, admin.get_account(db, account_id))
    if as_json:
        _echo_json([{"id": r.id, "kind": r.kind, "value": r.value} for r in found])
        return
    for rule in found:
        click.echo(f"{rule.id:>6}  {rule.kind:<9} {rule.value}")


@rules.command("remove")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.argument("rule_id", metavar="ID", type=int)
@click.pass_context
def rules_remove(ctx: click.Context, account_id: int, rule_id: int) -> None:
    """Remove a rule by its id (see `rules list`)."""
    from openfeeder.services import traffic

    with _database(_settings(ctx)) as db:
        traffic.delete_rule(db, admin.get_account(db, account_id), rule_id)
    click.echo(f"Removed rule {rule_id} from account {account_id}.")


# ── alerts ──

_TRIGGERS = ("new_company", "returning", "page_visit", "quality")  # domain.alerts.Trigger
_CHANNELS = ("webhook", "slack", "teams", "email")  # domain.alerts.ChannelKind


def _when_or_dash(moment: datetime | None) -> str:
    return _when(moment) if moment is not None else "-"


@main.group()
def alerts() -> None:
    """Alert rules, the endpoints their events go to, and the delivery log."""


@alerts.group("endpoints")
def alert_endpoints() -> None:
    """Where alert events go: webhooks, Slack, Teams."""


def _endpoint_json(endpoint: Any) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "kind": endpoint.kind.value,
        "name": endpoint.name,
        "url": endpoint.url,
        "enabled": endpoint.enabled,
        "failing_since": endpoint.failing_since and endpoint.failing_since.isoformat(),
        "disabled_reason": endpoint.disabled_reason,
    }


@alert_endpoints.command("add")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option(
    "--kind",
    type=click.Choice(_CHANNELS),
    default="webhook",
    show_default=True,
    help="Channel kind.",
)
@click.option("--name", default="", help="A name to tell it by (the URL by default).")
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A Mustache file rendering a webhook's body from the event.",
)
@click.argument("url")
@json_option
@click.pass_context
def alert_endpoints_add(
    ctx: click.Context,
    account_id: int,
    kind: str,
    name: str,
    template: Path | None,
    url: str,
    as_json: bool,
) -> None:
    """Add an endpoint; a webhook's signing secret is printed this once."""
    from openfeeder.services import alerts as service

    body = template.read_text(encoding="utf-8") if template else None
    with _database(_settings(ctx)) as db:
        made = service.create_endpoint(
            db, admin.get_account(db, account_id), kind, url, _now(), name=name, template=body
        )
    if as_json:
        _echo_json(_endpoint_json(made.endpoint) | {"secret": made.secret})
        return
    click.echo(f"Added {kind} endpoint {made.endpoint.id} to account {account_id}.")
    if made.secret:
        click.echo(f"Signing secret (shown once): {made.secret}")


@alert_endpoints.command("list")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@json_option
@click.pass_context
def alert_endpoints_list(ctx: click.Context, account_id: int, as_json: bool) -> None:
    """List an account's endpoints."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        found = service.list_endpoints(db, admin.get_account(db, account_id))
    if as_json:
        _echo_json([_endpoint_json(e) for e in found])
        return
    for e in found:
        state = "enabled" if e.enabled else f"disabled ({e.disabled_reason or 'by hand'})"
        click.echo(f"{e.id:>6}  {e.kind.value:<8} {e.name}  {e.url}  {state}")


@alert_endpoints.command("remove")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.argument("endpoint_id", metavar="ID", type=int)
@click.pass_context
def alert_endpoints_remove(ctx: click.Context, account_id: int, endpoint_id: int) -> None:
    """Remove an endpoint and its deliveries."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        service.delete_endpoint(db, admin.get_account(db, account_id), endpoint_id)
    click.echo(f"Removed endpoint {endpoint_id} from account {account_id}.")


@alert_endpoints.command("enable")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--off", is_flag=True, help="Disable it instead.")
@click.argument("endpoint_id", metavar="ID", type=int)
@click.pass_context
def alert_endpoints_enable(
    ctx: click.Context, account_id: int, off: bool, endpoint_id: int
) -> None:
    """Enable an endpoint again (its failure streak forgotten), or disable it with --off."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        service.set_endpoint_enabled(db, admin.get_account(db, account_id), endpoint_id, not off)
    click.echo(f"Endpoint {endpoint_id} {'disabled' if off else 'enabled'}.")


@alert_endpoints.command("rotate-secret")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.argument("endpoint_id", metavar="ID", type=int)
@click.pass_context
def alert_endpoints_rotate(ctx: click.Context, account_id: int, endpoint_id: int) -> None:
    """A new signing secret (printed once); the previous one stays valid beside it."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        secret = service.rotate_secret(db, admin.get_account(db, account_id), endpoint_id)
    click.echo(f"New signing secret (shown once): {secret}")


@alert_endpoints.command("test")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.argument("endpoint_id", metavar="ID", type=int)
@click.pass_context
def alert_endpoints_test(ctx: click.Context, account_id: int, endpoint_id: int) -> None:
    """Queue a test event to an endpoint (the delivery loop sends it)."""
    from openfeeder.services import alerts as service

    settings = _settings(ctx)
    with _database(settings) as db:
        delivery = service.send_test_event(
            db, admin.get_account(db, account_id), endpoint_id, _now(), _public_url(settings)
        )
    click.echo(f"Test event {delivery.event_id} queued as delivery {delivery.id}.")


@alerts.group("rules")
def alert_rules() -> None:
    """What makes alert events: a trigger on a feed."""


@alert_rules.command("add")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--feed", "feed_id", default="all_leads", show_default=True, help="Feed id.")
@click.option("--trigger", type=click.Choice(_TRIGGERS), required=True, help="What fires it.")
@click.option("--days", type=int, help="returning: days away at least.")
@click.option("--pattern", help="page_visit: a page URL or path glob (* and ?).")
@click.option("--quality", type=int, help="quality: the quality to reach (1-10).")
@click.option(
    "--cooldown",
    type=int,
    default=86400,
    show_default=True,
    help="Seconds before the rule fires again for the same company.",
)
@click.option(
    "--endpoint",
    "endpoint_ids",
    type=int,
    multiple=True,
    required=True,
    help="Endpoint id to send to (repeatable).",
)
@click.option("--user", "user_email", help="Whose followed_companies feed (its email).")
@click.option("--name", default="", help="A name to tell it by.")
@json_option
@click.pass_context
def alert_rules_add(
    ctx: click.Context,
    account_id: int,
    feed_id: str,
    trigger: str,
    days: int | None,
    pattern: str | None,
    quality: int | None,
    cooldown: int,
    endpoint_ids: tuple[int, ...],
    user_email: str | None,
    name: str,
    as_json: bool,
) -> None:
    """Add a rule."""
    from openfeeder.services import alerts as service

    params = {
        k: v
        for k, v in {"days": days, "pattern": pattern, "quality": quality}.items()
        if v is not None
    }
    with _database(_settings(ctx)) as db:
        user = admin.get_user(db, user_email) if user_email else None
        rule = service.create_rule(
            db,
            admin.get_account(db, account_id),
            _now(),
            feed_id=feed_id,
            trigger=trigger,
            params=params,
            endpoint_ids=list(endpoint_ids),
            name=name,
            cooldown_seconds=cooldown,
            user_id=user.id if user else None,
        )
    if as_json:
        _echo_json(_rule_json(rule))
        return
    click.echo(f"Added rule {rule.id} ({rule.name}) to account {account_id}.")


def _rule_json(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "feed_id": rule.feed_id,
        "trigger": rule.trigger.value,
        "params": rule.params,
        "cooldown_seconds": rule.cooldown_seconds,
        "enabled": rule.enabled,
        "endpoint_ids": list(rule.endpoint_ids),
    }


@alert_rules.command("list")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@json_option
@click.pass_context
def alert_rules_list(ctx: click.Context, account_id: int, as_json: bool) -> None:
    """List an account's rules."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        found = service.list_rules(db, admin.get_account(db, account_id))
    if as_json:
        _echo_json([_rule_json(r) for r in found])
        return
    for r in found:
        targets = ",".join(map(str, r.endpoint_ids))
        state = "" if r.enabled else "  (disabled)"
        click.echo(f"{r.id:>6}  {r.trigger.value:<11} {r.feed_id}  → {targets}  {r.name}{state}")


@alert_rules.command("remove")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.argument("rule_id", metavar="ID", type=int)
@click.pass_context
def alert_rules_remove(ctx: click.Context, account_id: int, rule_id: int) -> None:
    """Remove a rule (its events and their deliveries go with it)."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        service.delete_rule(db, admin.get_account(db, account_id), rule_id)
    click.echo(f"Removed alert rule {rule_id} from account {account_id}.")


@alerts.group("deliveries")
def alert_deliveries() -> None:
    """The delivery log, and replays."""


@alert_deliveries.command("list")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option("--endpoint", "endpoint_id", type=int, help="Only this endpoint's.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="How many, newest first.",
)
@json_option
@click.pass_context
def alert_deliveries_list(
    ctx: click.Context, account_id: int, endpoint_id: int | None, limit: int, as_json: bool
) -> None:
    """List deliveries, newest first."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        found = service.list_deliveries(db, admin.get_account(db, account_id), endpoint_id, limit)
    if as_json:
        _echo_json(
            [
                {
                    "id": d.id,
                    "event_id": d.event_id,
                    "type": d.event_type,
                    "endpoint_id": d.endpoint_id,
                    "status": d.status,
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                    "next_attempt_at": d.next_attempt_at and d.next_attempt_at.isoformat(),
                }
                for d in found
            ]
        )
        return
    for d in found:
        click.echo(
            f"{d.id:>6}  {d.status:<9} {d.attempts} tries  endpoint {d.endpoint_id}  {d.event_type}"
            f"  next {_when_or_dash(d.next_attempt_at)}  {d.last_error or ''}".rstrip()
        )


@alert_deliveries.command("replay")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.argument("delivery_id", metavar="ID", type=int)
@click.pass_context
def alert_deliveries_replay(ctx: click.Context, account_id: int, delivery_id: int) -> None:
    """Send a delivery again now, as the same event (same webhook-id)."""
    from openfeeder.services import alerts as service

    with _database(_settings(ctx)) as db:
        service.replay_delivery(db, admin.get_account(db, account_id), delivery_id, _now())
    click.echo(f"Delivery {delivery_id} queued again.")


def _now() -> datetime:
    return datetime.now(UTC)


# ── IP databases ──


def _geoip_schedule(settings: Settings) -> Any:
    """The scheduled IP database update of ``serve``, started; None when it is off."""
    from openfeeder.services.geoip import make_update_loop

    loop = make_update_loop(settings)
    if loop is not None:
        loop.start()
    return loop


@main.group()
def geoip() -> None:
    """Download, update and install the IP databases (ASN and City) the identifier reads."""


def _installed_json(item: Any) -> dict[str, Any]:
    return {
        "database": item.label,
        "kind": item.kind,
        "path": str(item.path),
        "database_type": item.database_type,
        "built": item.built.strftime("%Y-%m-%d"),
        "unchanged": item.unchanged,
    }


@geoip.command("update")
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Install this local file (.mmdb, .gz or .tar.gz) instead of downloading.",
)
@click.option("--force", is_flag=True, help="Download even when the provider has nothing newer.")
@json_option
@click.pass_context
def geoip_update(ctx: click.Context, from_file: Path | None, force: bool, as_json: bool) -> None:
    """Download the configured provider's databases, verify them and replace the installed
    files atomically; on any failure the old files stay and the command says why."""
    from openfeeder.identify import databases

    settings = _settings(ctx)
    if from_file is not None:
        installed = databases.install_file(settings, from_file)
    else:
        installed = databases.update(settings, progress=databases.TerminalProgress(), force=force)
    if as_json:
        _echo_json([_installed_json(item) for item in installed])
        return
    for item in installed:
        click.echo(databases.describe(item))
    click.echo(databases.attribution(settings).text)


@geoip.command("status")
@json_option
@click.pass_context
def geoip_status(ctx: click.Context, as_json: bool) -> None:
    """Show which IP database files are installed where, their type and build date."""
    from openfeeder.identify import databases

    settings = _settings(ctx)
    rows = databases.status(settings)
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        if not row["installed"]:
            state = "not installed (run `openfeeder geoip update`)"
        elif "error" in row:
            state = f"unreadable: {row['error']}"
        else:
            state = f"{row['database_type']}, built {row['built'][:10]}"
        click.echo(f"{row['kind']:<5} {row['path']}: {state}")


# --- networks: network types from public sources and the operator's overrides ---------------


# The kinds a source or the operator can give a network (identify.asn.TYPED_KINDS; a test
# keeps the two equal, so that --help needs no import of the classifier).
_NETWORK_KINDS = ("isp", "mobile", "hosting", "education", "government", "business")


@main.group()
def networks() -> None:
    """Network types by AS number (ISP, mobile, hosting, business, education, government)
    from bgp.tools, PeeringDB and AS lists, and the operator's overrides."""


def _as_number(value: str) -> int:
    from openfeeder.identify.asn import parse_asn

    number = parse_asn(value)
    if number is None:
        raise click.BadParameter(f"{value!r} is not an AS number (e.g. AS64500)")
    return number


def _echo_import(result: Any, as_json: bool) -> None:
    if as_json:
        _echo_json(asdict(result) | {"rows": result.rows})
        return
    for source, rows in result.sources.items():
        click.echo(f"{source}: {rows} AS numbers")
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(result.kinds.items()))
    click.echo(f"Imported {result.rows} AS numbers ({kinds or 'none'}).")
    click.echo(f"{result.conflicts} AS numbers on which sources disagree.")
    for example in result.conflict_examples:
        click.echo(f"  {example}")


@networks.command("import")
@click.option(
    "--source",
    "source",
    required=True,
    type=click.Choice(["bgptools-tags", "bgptools-asns", "peeringdb", "list"]),
    help="The files' format: bgp.tools tag files (named after the tag, e.g. vpsh.csv), "
    "bgp.tools asns.csv, PeeringDB network objects (JSON), or a plain AS-number list.",
)
@click.option(
    "--kind",
    type=click.Choice(_NETWORK_KINDS),
    help="What the networks of a plain list are (--source list).",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@click.pass_context
def networks_import(
    ctx: click.Context, source: str, kind: str | None, files: tuple[Path, ...], as_json: bool
) -> None:
    """Import network types from files; each source's earlier data is replaced."""
    from openfeeder.identify import networks as importer

    if source == "list" and kind is None:
        raise click.UsageError("--source list needs --kind (e.g. --kind hosting)")
    with _database(_settings(ctx)) as db:
        result = importer.import_files(db, source, list(files), kind=kind)  # type: ignore[arg-type]
    _echo_import(result, as_json)


@networks.command("update")
@json_option
@click.pass_context
def networks_update(ctx: click.Context, as_json: bool) -> None:
    """Download every configured source (OPENFEEDER_NETWORKS_*) and import them together."""
    from openfeeder.identify import networks as importer

    settings = _settings(ctx)
    with _database(settings) as db:
        result = importer.update(db, settings)
    _echo_import(result, as_json)


@networks.command("set")
@click.argument("asn", metavar="ASN")
@click.argument(
    "kind",
    metavar="KIND",
    type=click.Choice(_NETWORK_KINDS),
)
@click.pass_context
def networks_set(ctx: click.Context, asn: str, kind: str) -> None:
    """Set an AS's type (e.g. AS64500 business); it wins over every source."""
    from openfeeder.identify import networks as importer

    number = _as_number(asn)
    with _database(_settings(ctx)) as db:
        importer.set_override(db, number, kind)
    click.echo(f"AS{number} is {kind} (operator override).")


@networks.command("unset")
@click.argument("asn", metavar="ASN")
@click.pass_context
def networks_unset(ctx: click.Context, asn: str) -> None:
    """Remove the operator's type of an AS."""
    from openfeeder.identify import networks as importer

    number = _as_number(asn)
    with _database(_settings(ctx)) as db:
        removed = importer.unset_override(db, number)
    if not removed:
        raise click.ClickException(f"AS{number} has no operator override")
    click.echo(f"AS{number} has no operator override any more.")


@networks.command("show")
@click.argument("asn", metavar="ASN")
@json_option
@click.pass_context
def networks_show(ctx: click.Context, asn: str, as_json: bool) -> None:
    """Every source's view of an AS and the type the classifier gives it."""
    from openfeeder.identify import networks as importer

    number = _as_number(asn)
    with _database(_settings(ctx)) as db:
        view = importer.show(db, number)
    decision: dict[str, Any] = {
        "kind": view.decision.kind,
        "why": view.decision.why,
        "evidence": view.decision.evidence,
    }
    if as_json:
        _echo_json({"asn": number, "sources": [asdict(row) for row in view.rows], **decision})
        return
    click.echo(f"AS{number}")
    if not view.rows:
        click.echo("  no source names it")
    for row in view.rows:
        said = row.kind or "untyped"
        extra = " ".join(part for part in (row.detail, row.name, row.domain) if part)
        click.echo(f"  {row.source:<24} {said:<11} {extra}".rstrip())
    click.echo(f"Decision: {view.decision.kind} ({view.decision.why})")


# ── email ──


@main.group()
def mail() -> None:
    """Outgoing email (OPENFEEDER_SMTP_*): check that it reaches people."""


@mail.command("test")
@click.argument("address")
@click.pass_context
def mail_test(ctx: click.Context, address: str) -> None:
    """Send a test email to ADDRESS through the configured SMTP server."""
    from openfeeder.services.mail_messages import send_test

    server = send_test(_settings(ctx), address)
    click.echo(f"Sent a test email to {address} through {server}.")


@main.group("digests")
def digest_group() -> None:
    """Daily or weekly emails of a feed's leads, per user (sent at 09:00 account time)."""


def _digest_json(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "user": item.user.email,
        "account": str(item.account.id),
        "feed": item.feed_id,
        "cadence": item.cadence,
        "last_sent_period": item.last_sent_period.isoformat() if item.last_sent_period else None,
    }


@digest_group.command("add")
@click.option("--user", "email", required=True, help="Email of a member of the account.")
@click.option("--account", "account_id", type=int, required=True, help="Account id.")
@click.option(
    "--feed", "feed_id", default="all_leads", show_default=True, help="Feed id (see the API)."
)
@click.option(
    "--cadence", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True
)
@json_option
@click.pass_context
def digests_add(
    ctx: click.Context, email: str, account_id: int, feed_id: str, cadence: str, as_json: bool
) -> None:
    """Subscribe a user to the digest of one of the account's feeds."""
    from openfeeder.domain.clock import SYSTEM_CLOCK
    from openfeeder.services import digests

    with _database(_settings(ctx)) as db:
        made = digests.subscribe(db, SYSTEM_CLOCK.now(), email, account_id, feed_id, cadence)
    if as_json:
        _echo_json(_digest_json(made))
        return
    click.echo(
        f"Digest {made.id}: {made.user.email} gets the {made.cadence} digest of feed "
        f"{made.feed_id} of account {made.account.id}."
    )


@digest_group.command("list")
@click.option("--user", "email", help="Only this user's digests.")
@click.option("--account", "account_id", type=int, help="Only this account's digests.")
@json_option
@click.pass_context
def digests_list(
    ctx: click.Context, email: str | None, account_id: int | None, as_json: bool
) -> None:
    """List digest subscriptions."""
    from openfeeder.services import digests

    with _database(_settings(ctx)) as db:
        found = digests.list_subscriptions(db, email=email, account_id=account_id)
    if as_json:
        _echo_json([_digest_json(item) for item in found])
        return
    for item in found:
        last = item.last_sent_period.isoformat() if item.last_sent_period else "never"
        click.echo(
            f"{item.id:>6}  {item.cadence:<6} account {item.account.id:<6} feed "
            f"{item.feed_id:<18} {item.user.email}  (last: {last})"
        )


@digest_group.command("remove")
@click.argument("subscription_id", metavar="ID", type=int)
@click.pass_context
def digests_remove(ctx: click.Context, subscription_id: int) -> None:
    """Stop a digest by its id (see `digests list`)."""
    from openfeeder.services import digests

    with _database(_settings(ctx)) as db:
        digests.remove(db, subscription_id)
    click.echo(f"Removed digest {subscription_id}.")
