"""The group-committed append on both stores: dedupe, visitor keys, shards, flushing on
stop, one bad hit not failing its batch (``/tr`` over HTTP is in ``test_http.py``)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.ingest import IncomingHit, Ingestor, IngestUnavailable, make_ingestor
from openfeeder.ingest.append import visitor_key
from openfeeder.store import schema
from openfeeder.store.db import Database
from openfeeder.store.hits import SHARDS
from tests.support.factories import Builder
from tests.support.tracking import event, stored


def hit(account: Account, **event_fields: Any) -> IncomingHit:
    return IncomingHit(
        account_id=account.id,
        event=event(**event_fields),
        ip="198.51.100.20",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0",
        accept_language="fi-FI,fi;q=0.9",
        request_meta={"sec-ch-ua": '"Chromium";v="140"'},
        received_at=datetime.now(UTC),
    )


@pytest.fixture
def ingestor(settings: Settings, db: Database) -> Iterator[Ingestor]:
    ingest = make_ingestor(settings, db)
    ingest.start()
    yield ingest
    ingest.stop()


# -- the append --------------------------------------------------------------------------


def test_append_stores_the_hit_with_its_visitor_key_and_shard(
    ingestor: Ingestor, db: Database, account: Account
) -> None:
    incoming = hit(account)
    assert asyncio.run(ingestor.append(incoming)) is True
    (row,) = stored(db, account)
    client_id = incoming.event["lfClientId"]
    assert row["client_event_id"] == incoming.event["clientEventId"]
    assert row["payload"] == incoming.event
    assert row["visitor_key"] == client_id
    assert row["shard"] == zlib.crc32(client_id.encode()) % SHARDS
    assert (row["ip"], row["user_agent"], row["accept_language"]) == (
        "198.51.100.20",
        incoming.user_agent,
        "fi-FI,fi;q=0.9",
    )
    assert row["request_meta"] == {"sec-ch-ua": '"Chromium";v="140"'}
    assert row["received_at"] == incoming.received_at
    assert row["processed_at"] is None
    assert ingestor.counts()["accepted"] == 1


def test_a_repeated_client_event_id_is_a_duplicate_not_a_second_hit(
    ingestor: Ingestor, db: Database, account: Account, builder: Builder
) -> None:
    first = hit(account)
    again = IncomingHit(**{**first.__dict__, "ip": "203.0.113.1"})
    elsewhere = IncomingHit(**{**first.__dict__, "account_id": builder.account().id})

    async def send() -> list[bool]:
        return [await ingestor.append(h) for h in (first, again, elsewhere)]

    # The same id in another account is another event: ids are unique per account only.
    assert asyncio.run(send()) == [True, False, True]
    assert [row["ip"] for row in stored(db, account)] == ["198.51.100.20"]
    assert ingestor.counts()["duplicate"] == 1


def test_concurrent_appends_share_commits_and_each_is_on_disk_when_answered(
    ingestor: Ingestor, db: Database, account: Account
) -> None:
    incoming = [hit(account) for _ in range(300)]

    async def send_one(h: IncomingHit) -> bool:
        new = await ingestor.append(h)
        with db.read() as conn:  # another connection sees it: the commit happened first
            rows = conn.execute(
                sa.select(schema.hits.c.id).where(
                    schema.hits.c.client_event_id == h.client_event_id
                )
            ).all()
        return new and len(rows) == 1

    async def send_all() -> list[bool]:
        return await asyncio.gather(*(send_one(h) for h in incoming))

    assert all(asyncio.run(send_all()))
    assert len(stored(db, account)) == 300
    commits = ingestor.metrics.registry.get_sample_value("openfeeder_tracker_commit_hits_count")
    assert commits is not None
    assert commits < 100, f"{commits} commits for 300 concurrent hits: no group commit"


def test_cookieless_hits_are_keyed_by_account_address_and_browser(
    ingestor: Ingestor, db: Database, account: Account
) -> None:
    def cookieless(ip: str, user_agent: str) -> IncomingHit:
        base = hit(account, lfClientId="LF1.1.0123456789abcdef.1700000000000.NC")
        return IncomingHit(**{**base.__dict__, "ip": ip, "user_agent": user_agent})

    sent = [
        cookieless("198.51.100.20", "Firefox"),
        cookieless("198.51.100.20", "Firefox"),
        cookieless("198.51.100.20", "Chrome"),
        cookieless("198.51.100.21", "Firefox"),
    ]
    assert ingestor.append_many(sent) == 4
    keys = [row["visitor_key"] for row in stored(db, account)]
    assert all(key.startswith("nc:") and len(key) <= 64 for key in keys)
    assert keys[0] == keys[1]
    assert len(set(keys)) == 3
    assert keys[0] == visitor_key(account.id, sent[0].event, "198.51.100.20", "Firefox")
    assert all(0 <= row["shard"] < SHARDS for row in stored(db, account))


def test_append_many_is_one_transaction_counting_only_new_hits(
    ingestor: Ingestor, db: Database, account: Account
) -> None:
    batch = [hit(account) for _ in range(5)]
    assert ingestor.append_many(batch) == 5
    assert ingestor.append_many([*batch[:2], hit(account), batch[0]]) == 1
    assert len(stored(db, account)) == 6
    assert ingestor.counts()["accepted"] == 6
    assert ingestor.counts()["duplicate"] == 3


def test_stop_writes_every_hit_already_handed_over(
    settings: Settings, db: Database, account: Account
) -> None:
    ingest = make_ingestor(settings, db)
    ingest.start()

    async def scenario() -> list[bool]:
        tasks = [asyncio.ensure_future(ingest.append(hit(account))) for _ in range(50)]
        await asyncio.sleep(0)  # every append has queued its hit
        await asyncio.get_running_loop().run_in_executor(None, ingest.stop)
        with pytest.raises(IngestUnavailable):
            await ingest.append(hit(account))
        return await asyncio.gather(*tasks)

    assert asyncio.run(scenario()) == [True] * 50
    assert len(stored(db, account)) == 50
    assert ingest.counts()["unavailable"] == 1


def test_one_unstorable_hit_does_not_fail_the_others_in_its_commit(
    ingestor: Ingestor, db: Database, account: Account
) -> None:
    good = [hit(account) for _ in range(20)]
    orphan = IncomingHit(**{**hit(account).__dict__, "account_id": 987654})  # no such account

    async def send() -> list[object]:
        return await asyncio.gather(
            *(ingestor.append(h) for h in [*good[:10], orphan, *good[10:]]),
            return_exceptions=True,
        )

    outcomes = asyncio.run(send())
    assert isinstance(outcomes[10], IngestUnavailable)
    assert outcomes[:10] + outcomes[11:] == [True] * 20
    assert len(stored(db)) == 20
    assert ingestor.counts()["unavailable"] == 1


def test_when_the_store_fails_every_waiting_hit_is_refused_and_the_writer_carries_on(
    ingestor: Ingestor, db: Database, account: Account
) -> None:
    async def send(count: int) -> list[object]:
        hits = [ingestor.append(hit(account)) for _ in range(count)]
        return await asyncio.gather(*hits, return_exceptions=True)

    with db.write() as conn:
        conn.exec_driver_sql("ALTER TABLE hits RENAME TO hits_away")
    try:
        outcomes = asyncio.run(send(5))
    finally:
        with db.write() as conn:
            conn.exec_driver_sql("ALTER TABLE hits_away RENAME TO hits")
    assert all(isinstance(outcome, IngestUnavailable) for outcome in outcomes)
    assert ingestor.counts()["unavailable"] == 5
    assert asyncio.run(send(3)) == [True] * 3
    assert len(stored(db, account)) == 3
