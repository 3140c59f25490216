"""The network-types table on both backends: a source replaced whole in one executemany (tens
of thousands of rows), overrides beside it, and the version the classifier reloads on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from openfeeder.store import networks as store
from openfeeder.store.db import Database

AT = datetime(2026, 6, 1, tzinfo=UTC)


def rows(source: str, count: int, kind: str | None = "hosting") -> list[store.NetworkRow]:
    return [store.NetworkRow(64512 + n, source, kind, "vpsh", f"Net {n}") for n in range(count)]


def test_a_source_is_replaced_whole(db: Database) -> None:
    with db.read() as conn:
        assert store.version(conn) == (None, 0, 0)
    with db.write() as conn:
        store.replace_source(conn, "bgptools:vpsh", "vpsh.csv", rows("bgptools:vpsh", 30_000), AT)
        store.replace_source(conn, "bgptools:asns", "asns.csv", rows("bgptools:asns", 5, None), AT)
    with db.read() as conn:
        assert len(store.all_rows(conn)) == 30_005
        assert store.version(conn) == (AT, 2, 30_005)
        assert {(s.source, s.rows) for s in store.sources(conn)} == {
            ("bgptools:vpsh", 30_000),
            ("bgptools:asns", 5),
        }
    later = AT + timedelta(hours=1)
    with db.write() as conn:
        store.replace_source(conn, "bgptools:vpsh", "vpsh.csv", rows("bgptools:vpsh", 2), later)
    with db.read() as conn:
        assert len(store.all_rows(conn)) == 7
        assert store.version(conn) == (later, 2, 7)
        assert [row.source for row in store.rows_for(conn, 64512)] == [
            "bgptools:asns",
            "bgptools:vpsh",
        ]
        assert store.rows_for(conn, 64514)[0].kind is None  # asns.csv types nothing


def test_overrides_sit_beside_the_sources_and_move_the_version(db: Database) -> None:
    with db.write() as conn:
        store.replace_source(conn, "peeringdb", "net.json", rows("peeringdb", 1), AT)
        store.set_override(conn, 64512, "business", AT + timedelta(minutes=1))
        store.set_override(conn, 64512, "education", AT + timedelta(minutes=2))
    with db.read() as conn:
        kinds = {row.source: row.kind for row in store.rows_for(conn, 64512)}
        assert kinds == {"peeringdb": "hosting", "override": "education"}
        assert store.version(conn)[0] == AT + timedelta(minutes=2)
    with db.write() as conn:
        assert store.unset_override(conn, 64512, AT + timedelta(minutes=3))
        assert not store.unset_override(conn, 64512, AT + timedelta(minutes=4))
    with db.read() as conn:
        assert [row.source for row in store.rows_for(conn, 64512)] == ["peeringdb"]
        assert store.version(conn) == (AT + timedelta(minutes=3), 2, 1)
