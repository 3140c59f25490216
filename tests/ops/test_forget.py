"""``openfeeder forget``: a company's leads, or one visitor, deleted from an account with
everything that holds them, on SQLite and PostgreSQL. The data is made the real way (tracker
hits through ingest and the pipeline, alert rules firing, notes written); afterwards no
table holds any of it (every table with a lead, visit, visitor or address column is asked,
and every row of every table is searched for the visitor's id and address), the other
leads' rows are as they were, and the totals, per-day statistics and overview rollups equal
a fresh count of the visits left. A dry run changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from openfeeder.cli import main
from openfeeder.config import Settings
from openfeeder.store import lead_actions
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.alerts.test_events import NOW, process, rule
from tests.pipeline.test_rollups import _counted, _rollups
from tests.support.factories import Builder
from tests.support.pipeline import ACME_IP, GLOBEX_IP, NOBODY_IP, T0, World, make_world

ACME_DOMAIN = "acme.example"
ANNA_IP, BERT_IP = ACME_IP, "192.0.2.77"  # two people in ACME's office
ANNA = "LF1.1.00000000000000aa.1767225600000"  # Anna's browser's client id
LEAD_COLUMNS = ("lead_pk",)
VISIT_COLUMNS = ("visit_id",)


@pytest.fixture
def world(settings: Settings, db: Database, builder: Builder) -> World:
    made = make_world(settings, db, builder)
    with db.write() as conn:
        conn.execute(
            t.companies.update().where(t.companies.c.id == made.acme.id).values(domain=ACME_DOMAIN)
        )
    return made


def _traffic(world: World) -> None:
    """Anna (cookie) visits twice on two days, Bert once, Globex's visitor once; a visitor
    of no company's network sends hits that make no visit. A rule fires on each new lead;
    someone writes a note on ACME's lead and follows it."""
    member = Builder(world.db).user()
    rule(world, "http://127.0.0.1:9/", "new_company")
    anna = world.browser(ip=ANNA_IP, client_id=ANNA)
    bert = world.browser(ip=BERT_IP)
    globex = world.browser(ip=GLOBEX_IP)
    nobody = world.browser(ip=NOBODY_IP)
    day2 = T0 + timedelta(days=1, hours=2)
    hits = [anna.hit(p, T0 + timedelta(minutes=i)) for i, p in enumerate(["/", "/pricing", "/"])]
    hits += [anna.hit(p, day2 + timedelta(minutes=i)) for i, p in enumerate(["/docs", "/"])]
    hits += [bert.hit(p, T0 + timedelta(minutes=30 + i)) for i, p in enumerate(["/", "/jobs"])]
    hits += [globex.hit(p, T0 + timedelta(minutes=i)) for i, p in enumerate(["/", "/pricing"])]
    hits += [nobody.hit("/", T0)]
    world.send(sorted(hits, key=lambda hit: hit.received_at))
    process(world)
    with world.db.write() as conn:
        pk = conn.execute(sa.select(t.leads.c.pk).where(t.leads.c.company_id == world.acme.id))
        acme_lead = pk.scalar_one()
        lead_actions.add_note(conn, acme_lead, member.user.id, "Call them", NOW)
        lead_actions.set_followed(conn, member.user.id, acme_lead, True)


def _export(world: World, file_name: str, first: date, last: date, expires: datetime) -> None:
    """An export file made earlier (as the export job records one) for the period."""
    with world.db.write() as conn:
        user_id = conn.execute(sa.select(sa.func.min(t.users.c.id))).scalar_one()
        conn.execute(
            t.export_requests.insert().values(
                id=str(uuid.uuid4()),
                account_id=world.account.id,
                user_id=user_id,
                feed_id="all_leads",
                start_date=first,
                end_date=last,
                status="processed",
                attempts=1,
                file_name=file_name,
                created_at=NOW,
                expires_at=expires,
            )
        )


def forget(world: World, *args: str) -> Result:
    result = CliRunner().invoke(
        main,
        ["forget", *args, "--account", str(world.account.id)],
        env={"OPENFEEDER_DATABASE_URL": world.settings.database_url},
    )
    assert result.exit_code == 0, result.output
    return result


def everything(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with db.read() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
            for table in t.metadata.sorted_tables
        }


def rows_holding(db: Database, columns: Iterable[str], values: Iterable[Any]) -> list[str]:
    """``table.column`` of every row, in any table, whose column named one of ``columns``
    holds one of ``values``."""
    wanted = list(values)
    found = []
    with db.read() as conn:
        for table in t.metadata.sorted_tables:
            for name in columns:
                if name in table.c and wanted:
                    query = sa.select(sa.func.count()).where(table.c[name].in_(wanted))
                    if conn.execute(query).scalar_one():
                        found.append(f"{table.name}.{name}")
    return found


def mentions(db: Database, text: str) -> list[str]:
    """The tables any of whose rows mention ``text`` anywhere (JSON included)."""
    return sorted(
        name
        for name, rows in everything(db).items()
        if any(text in json.dumps(row, default=str) for row in rows)
    )


def lead_problems(db: Database) -> list[str]:
    """Where lead totals or per-day statistics differ from a count of the visits."""
    v, s = t.visits, t.lead_day_stats
    problems = []
    with db.read() as conn:
        for lead in conn.execute(sa.select(t.leads)).mappings():
            mine = conn.execute(sa.select(v).where(v.c.lead_pk == lead["pk"])).mappings().all()
            starts = [visit["started_at"] for visit in mine]
            expected = (len(mine), min(starts, default=None), max(starts, default=None))
            found = (lead["visits_total"], lead["first_visit_at"], lead["last_visit_at"])
            if found != expected:
                problems.append(f"lead {lead['pk']}: {found} != {expected}")
            if not mine:
                problems.append(f"lead {lead['pk']} has no visit left")
            days: dict[Any, list[int]] = {}
            for visit in mine:
                day = days.setdefault(visit["date"], [0, 0, 0])
                day[0] += 1
                day[1] += visit["page_depth"]
                day[2] += visit["visit_length"]
            stats = conn.execute(
                sa.select(s.c.day, s.c.visits, s.c.pageviews, s.c.seconds).where(
                    s.c.lead_pk == lead["pk"]
                )
            )
            counted = {day: [n, pages, seconds] for day, n, pages, seconds in stats}
            if counted != days:
                problems.append(f"lead {lead['pk']} day stats {counted} != {days}")
    with db.read() as conn:
        if _rollups(conn) != _counted(db):
            problems.append("the overview rollups differ from a count of the visits")
    return problems


def _of_lead(db: Database, company_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """A lead's own rows: the lead, its visits, pages, day stats, hits, alert events."""
    with db.read() as conn:
        pk = conn.execute(sa.select(t.leads.c.pk).where(t.leads.c.company_id == company_id))
        lead_pk = pk.scalar_one()
        visits = sa.select(t.visits.c.id).where(t.visits.c.lead_pk == lead_pk)
        queries = {
            "leads": sa.select(t.leads).where(t.leads.c.pk == lead_pk),
            "visits": sa.select(t.visits).where(t.visits.c.lead_pk == lead_pk),
            "visit_pages": sa.select(t.visit_pages).where(t.visit_pages.c.lead_pk == lead_pk),
            "lead_day_stats": sa.select(t.lead_day_stats).where(
                t.lead_day_stats.c.lead_pk == lead_pk
            ),
            "hits": sa.select(t.hits).where(t.hits.c.visit_id.in_(visits)),
            "alert_events": sa.select(t.alert_events).where(t.alert_events.c.lead_pk == lead_pk),
        }
        return {
            name: sorted((tuple(row) for row in conn.execute(query)), key=repr)
            for name, query in queries.items()
        }


def test_forget_company_deletes_its_leads_and_everything_they_hold(world: World) -> None:
    _traffic(world)
    db = world.db
    with db.read() as conn:
        acme_leads = list(
            conn.execute(sa.select(t.leads.c.pk).where(t.leads.c.company_id == world.acme.id))
            .scalars()
            .all()
        )
        lead_public_ids = [
            row.id for row in conn.execute(sa.select(t.leads).where(t.leads.c.pk.in_(acme_leads)))
        ]
        acme_visits = list(
            conn.execute(sa.select(t.visits.c.id).where(t.visits.c.lead_pk.in_(acme_leads)))
            .scalars()
            .all()
        )
    assert len(acme_visits) == 3
    # Before: the company is in every table that holds a lead's data.
    held = rows_holding(db, LEAD_COLUMNS, acme_leads)
    assert set(held) >= {
        "lead_notes.lead_pk",
        "lead_followers.lead_pk",
        "visit_pages.lead_pk",
        "lead_day_stats.lead_pk",
        "alert_events.lead_pk",
    }
    soon = datetime.now(UTC) + timedelta(days=3)  # forget asks the system clock
    _export(
        world, "covers-day-2.json", T0.date() + timedelta(days=1), T0.date() + timedelta(5), soon
    )
    _export(world, "before-the-visits.json", date(2026, 1, 1), date(2026, 1, 31), soon)
    _export(world, "expired.json", T0.date(), T0.date(), datetime.now(UTC) - timedelta(hours=1))
    globex = _of_lead(db, world.globex.id)
    before = everything(db)

    dry = forget(world, "company", "--domain", ACME_DOMAIN, "--dry-run", "--json")
    planned = json.loads(dry.output)
    assert planned["exports_that_may_hold_it"] == ["covers-day-2.json"]
    assert planned["dry_run"] is True
    assert planned["deleted"]["visits"] == 3
    assert planned["deleted"]["hits"] == 7
    assert planned["deleted"]["leads"] == 1
    assert everything(db) == before  # the dry run deleted nothing

    done = forget(world, "company", "--domain", ACME_DOMAIN)
    assert "may still hold it until they expire: covers-day-2.json" in done.output
    for table in ("visits", "visit_pages", "hits", "leads", "lead_notes", "alert_events"):
        assert table in done.output
    assert rows_holding(db, LEAD_COLUMNS, acme_leads) == []
    assert rows_holding(db, VISIT_COLUMNS, acme_visits) == []
    for public_id in lead_public_ids:
        assert mentions(db, public_id) == []
    for visit_id in acme_visits:
        assert mentions(db, visit_id) == []
    assert mentions(db, ANNA) == []
    # Globex's lead is untouched and every count agrees with the visits left.
    assert _of_lead(db, world.globex.id) == globex
    assert lead_problems(db) == []
    # The company itself (shared firmographics) and the visitor of no company stay.
    assert mentions(db, world.acme.id) == ["companies"]
    assert mentions(db, NOBODY_IP) == ["hits"]


@pytest.mark.parametrize("by", ["ip", "client-id"])
def test_forget_visitor_deletes_their_hits_and_visits_and_recounts_the_lead(
    world: World, by: str
) -> None:
    _traffic(world)
    db = world.db
    with db.read() as conn:
        annas = list(
            conn.execute(sa.select(t.visits.c.id).where(t.visits.c.lf_client_id == ANNA))
            .scalars()
            .all()
        )
    assert len(annas) == 2
    globex = _of_lead(db, world.globex.id)
    before = everything(db)
    option = ["--ip", ANNA_IP] if by == "ip" else ["--client-id", ANNA]

    dry = json.loads(forget(world, "visitor", *option, "--dry-run", "--json").output)
    assert dry["deleted"]["visits"] == 2
    assert dry["deleted"]["hits"] == 5
    assert everything(db) == before

    done = json.loads(forget(world, "visitor", *option, "--json").output)
    assert done["deleted"] == dry["deleted"]
    assert done["leads_recounted"] == 1  # ACME's lead stays: Bert visited too
    assert rows_holding(db, VISIT_COLUMNS, annas) == []
    assert rows_holding(db, ("lf_client_id", "visitor_key"), [ANNA]) == []
    assert rows_holding(db, ("ip",), [ANNA_IP]) == []
    assert mentions(db, ANNA) == []
    assert mentions(db, ANNA_IP) == []
    for visit_id in annas:
        assert mentions(db, visit_id) == []
    # Bert's visit, the lead's note, and Globex are all still there; the counts agree.
    with db.read() as conn:
        left = conn.execute(
            sa.select(t.visits.c.page_depth)
            .join(t.leads)
            .where(t.leads.c.company_id == world.acme.id)
        )
        assert list(left.scalars()) == [2]
        assert conn.execute(sa.select(sa.func.count()).select_from(t.lead_notes)).scalar() == 1
    assert _of_lead(db, world.globex.id) == globex
    assert lead_problems(db) == []


def test_forgetting_a_leads_only_visitor_deletes_the_lead(world: World) -> None:
    _traffic(world)
    done = json.loads(forget(world, "visitor", "--ip", GLOBEX_IP, "--json").output)
    assert done["deleted"]["leads"] == 1
    assert done["leads_recounted"] == 0
    assert rows_holding(world.db, ("ip",), [GLOBEX_IP]) == []
    with world.db.read() as conn:
        companies = conn.execute(sa.select(t.leads.c.company_id)).scalars().all()
    assert companies == [world.acme.id]
    assert lead_problems(world.db) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["visitor", "--ip", "not-an-ip"], "'not-an-ip' is not an IP address"),
        (["company", "--lead", "no-such-lead"], "has no lead no-such-lead"),
        (["company", "--domain", "nobody.example"], "has no company with domain nobody.example"),
        (["visitor", "--ip", ANNA_IP, "--account", "999999"], "No account has the id 999999"),
    ],
)
def test_forget_refuses_what_it_cannot_find_with_one_line(
    world: World, args: list[str], says: str
) -> None:
    result = CliRunner().invoke(
        main,
        ["forget", args[0], "--account", str(world.account.id), *args[1:]],
        env={"OPENFEEDER_DATABASE_URL": world.settings.database_url},
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert says in lines[0]
