"""PostgreSQL only: several PgStores on one database, as several bot processes use it.

Each store here is started (pool and change feed) as a process's is. Waits poll a condition
with a deadline (tests.helpers.waiting); no test asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.storage import pg_kept
from bot.storage.db import SCHEMA_VERSION
from bot.storage.errors import StoreConflict
from bot.storage.pg import LINK_SETTINGS, NOTIFY_MAX, PgStore, with_link_settings
from bot.storage.pg_schema import SQL
from tests.helpers.pg_cluster import PgCluster
from tests.helpers.store_checks import as_dict
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.pg

SOON = 2.0  # seconds: another process's change is in memory within this (issue 20)


def stored(url: str, table: str) -> dict[int, dict[str, Any]]:
    """A table as the database holds it, read on a connection of its own."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT id, doc FROM docs WHERE tbl = %s ORDER BY id", (table,))
        return {int(doc_id): doc for doc_id, doc in rows}


def in_memory(store: PgStore, table: str) -> dict[int, dict[str, Any]]:
    return as_dict(store.table(table))


async def commit(store: PgStore, write: Callable[[], Any]) -> Any:
    """Make writes as the engine's update does: inside deferred_sync, then flush."""
    with store.deferred_sync():
        result = write()
        await store.flush()
    return result


async def test_a_change_is_in_the_other_memory_after_a_turn_and_soon_without(
    two_pg_stores: tuple[PgStore, PgStore],
) -> None:
    a, b = two_pg_stores
    notes_a, notes_b = a.table("notes"), b.table("notes", indexes=("tag",))
    first = await commit(a, lambda: notes_a.insert({"tag": "na", "text": "Na Chi Lăng 🍈"}))
    async with b.user_turn("web:lan"):  # the barrier: every earlier commit is applied
        assert notes_b.get(doc_id=first) == {"tag": "na", "text": "Na Chi Lăng 🍈"}
        assert b.find_ids(notes_b, {"tag": "na"}) == [first]
    await commit(a, lambda: notes_a.update({"tag": "hong"}, doc_ids=[first]))
    async with b.user_turn("web:lan"):
        assert b.find_ids(notes_b, {"tag": "hong"}) == [first] and not b.find(notes_b, "tag", "na")

    # Without a barrier: loose writes, an update, a removal and a document too big to ride
    # in a notification all arrive within the deadline.
    big = {"tag": "big", "text": "Hồng không hạt " * (NOTIFY_MAX // 10)}
    second = notes_a.insert(big)
    notes_a.update({"text": "đã sửa"}, doc_ids=[first])
    many = notes_a.insert_multiple({"tag": "lô", "n": n} for n in range(300))
    notes_a.remove(doc_ids=many[:100])
    await wait_until(lambda: in_memory(b, "notes") == in_memory(a, "notes"), "b to catch up", SOON)
    assert notes_b.get(doc_id=second) == big
    assert b.count_where(notes_b, {"tag": "lô"}) == 200
    notes_a.truncate()
    await wait_until(lambda: len(notes_b) == 0, "the truncate to reach b", SOON)


async def test_a_conflicting_update_raises_and_the_loser_keeps_the_database(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    a, b = two_pg_stores
    stock_a, stock_b = a.table("listings"), b.table("listings", indexes=("status",))
    listing = await commit(a, lambda: stock_a.insert({"stock": 10, "status": "active"}))
    async with b.user_turn("web:b"):
        pass
    with b.deferred_sync():
        stock_b.update({"stock": 0, "status": "sold_out"}, doc_ids=[listing])  # b read 10
        await commit(a, lambda: stock_a.update({"stock": 7}, doc_ids=[listing]))
        with pytest.raises(StoreConflict):
            await b.flush()
    assert stored(pg_url, "listings") == {listing: {"stock": 7, "status": "active"}}
    assert in_memory(b, "listings") == stored(pg_url, "listings") == in_memory(a, "listings")
    assert b.find_ids(stock_b, {"status": "sold_out"}) == []
    # Redone on the fresh data, b's update commits.
    await commit(b, lambda: stock_b.update({"stock": 6}, doc_ids=[listing]))
    assert stored(pg_url, "listings")[listing]["stock"] == 6


async def test_removing_a_document_another_store_changed_is_a_conflict(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    a, b = two_pg_stores
    doc_id = await commit(a, lambda: a.table("listings").insert({"stock": 10}))
    async with b.user_turn("web:b"):
        pass
    with b.deferred_sync():
        b.table("listings").remove(doc_ids=[doc_id])  # b decided on stock 10
        await commit(a, lambda: a.table("listings").update({"stock": 3}, doc_ids=[doc_id]))
        with pytest.raises(StoreConflict):
            await b.flush()
    assert in_memory(b, "listings") == stored(pg_url, "listings") == {doc_id: {"stock": 3}}
    await commit(b, lambda: b.table("listings").remove(doc_ids=[doc_id]))  # redone: it goes
    assert stored(pg_url, "listings") == {}


@pytest.mark.parametrize(
    ("table", "field", "value"),
    [("orders", "code", "DH2611-0001"), ("seen_updates", "key", "telegram:1001")],
)
async def test_a_unique_value_is_committed_by_one_store_only(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str, table: str, field: str, value: str
) -> None:
    a, b = two_pg_stores
    results = await asyncio.gather(
        commit(a, lambda: a.table(table).insert({field: value, "by": "a"})),
        commit(b, lambda: b.table(table).insert({field: value, "by": "b"})),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, StoreConflict)]
    assert len(refused) == 1, results
    [(doc_id, doc)] = stored(pg_url, table).items()
    assert results[0 if doc["by"] == "a" else 1] == doc_id
    for store in (a, b):
        async with store.user_turn("web:x"):
            assert in_memory(store, table) == {doc_id: doc}, "the loser's insert is undone"


async def test_ids_are_unique_across_stores(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    a, b = two_pg_stores
    given: list[int] = []
    for n in range(100):
        given.append(a.table("t").insert({"by": "a", "n": n}))
        given.append(b.table("t").insert({"by": "b", "n": n}))
    given += await commit(a, lambda: a.table("t").insert_multiple([{"by": "a"}] * 50))
    assert len(set(given)) == len(given) == 250
    await a.flush()
    await b.flush()
    assert set(stored(pg_url, "t")) == set(given)
    for store in (a, b):
        await wait_until(lambda s=store: set(s.table("t").doc_ids()) == set(given), "ids", SOON)


async def test_updates_committing_at_once_share_statements_and_each_gets_its_answer(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    """Group commit: ten people's updates flush together; one breaks a unique value."""
    a, b = two_pg_stores
    await commit(b, lambda: b.table("orders").insert({"code": "DH2612-0001", "by": "b"}))
    before = (a._group.statements, a._group.commits)

    def one_update(n: int) -> Callable[[], Any]:
        if n == 4:  # a's memory may not know b's order yet: the database refuses it
            return lambda: a.table("orders").insert({"code": "DH2612-0001", "by": "a"})
        return lambda: a.table("listings").insert({"n": n, "note": "Na <b>dai</b> 🍈"})

    results = await asyncio.gather(
        *(commit(a, one_update(n)) for n in range(10)), return_exceptions=True
    )
    assert isinstance(results[4], StoreConflict)
    saved = [r for n, r in enumerate(results) if n != 4]
    assert all(isinstance(r, int) for r in saved), results
    listings = stored(pg_url, "listings")
    assert sorted(listings) == sorted(saved) and [d["n"] for d in listings.values()] == [
        n for n in range(10) if n != 4
    ]
    statements = a._group.statements - before[0]
    commits = a._group.commits - before[1]
    # All ten in one statement (refused by the order), then each one alone.
    assert (statements, commits) == (11, 20)
    await wait_until(lambda: in_memory(b, "listings") == listings, "b to see them", SOON)
    async with a.user_turn("web:x"):
        assert [d["by"] for d in in_memory(a, "orders").values()] == ["b"]

    # Without a refusal: the queued updates share one statement.
    before = (a._group.statements, a._group.commits)
    await asyncio.gather(*(commit(a, one_update(n)) for n in range(10, 20)))
    assert a._group.commits - before[1] == 10 > a._group.statements - before[0]
    assert len(stored(pg_url, "listings")) == 19


async def test_turns_holding_every_pooled_connection_still_get_their_commits_through(
    pg_url: str, tmp_path: Path
) -> None:
    """Each turn holds a pooled connection; a turn's flush also commits the writes made outside
    updates, which go with the group's commits: on a connection of their own, or none is left."""
    store = PgStore(pg_url, tmp_path, pool_size=2)
    await store.start()
    try:

        async def turn(key: str) -> None:
            async with store.user_turn(key):
                store.table("jobs").insert({"kind": "sweep", "by": key})  # outside an update
                await commit(store, lambda: store.table("notes").insert({"by": key}))

        # (a hang guard, not a timing: without a connection of its own it waits for the pool)
        await asyncio.wait_for(asyncio.gather(turn("web:a"), turn("web:b")), 20)
        assert sorted(d["by"] for d in stored(pg_url, "notes").values()) == ["web:a", "web:b"]
        assert len(stored(pg_url, "jobs")) == 2
    finally:
        await store.stop()
        store.close()


async def test_a_commit_whose_link_was_cut_before_it_went_in_is_sent_again(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    """The commits' connection was cut while idle (a database restart, a proxy's timeout): the
    next commit finds its documents untouched on a new connection and goes in; no apology."""
    a, _b = two_pg_stores
    first = await commit(a, lambda: a.table("notes").insert({"n": 1}))
    assert a._committer is not None
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (a._committer.info.backend_pid,))
    second = await commit(a, lambda: a.table("notes").insert({"n": 2}))
    await commit(a, lambda: a.table("notes").update({"n": 10}, doc_ids=[first]))
    assert stored(pg_url, "notes") == {first: {"n": 10}, second: {"n": 2}}


async def test_a_commit_whose_answer_was_lost_is_found_in_and_not_sent_twice(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    a, b = two_pg_stores
    first = await commit(a, lambda: a.table("notes").insert({"n": 1}))
    conn = a._committer
    assert conn is not None
    real = conn.execute

    async def commit_then_lose_the_answer(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)
        await conn.close()
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    conn.execute = commit_then_lose_the_answer  # type: ignore[method-assign]
    await commit(a, lambda: a.table("notes").update({"n": 2, "note": "Na 🍈"}, doc_ids=[first]))
    assert stored(pg_url, "notes") == {first: {"n": 2, "note": "Na 🍈"}}
    with psycopg.connect(pg_url, autocommit=True) as check:
        assert check.execute("SELECT ver FROM docs WHERE id = %s", (first,)).fetchone() == (2,)
    await wait_until(lambda: in_memory(b, "notes") == stored(pg_url, "notes"), "b", SOON)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://nds:pw@db-a,db-b/nds?target_session_attrs=read-write",
            "postgresql://nds:pw@db-a,db-b/nds?target_session_attrs=read-write&connect_timeout=10"
            "&keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=3"
            "&tcp_user_timeout=30000",
        ),
        (
            "postgresql://nds@/nds?host=/var/run/postgresql&keepalives_idle=60&keepalives=0",
            "postgresql://nds@/nds?host=/var/run/postgresql&keepalives_idle=60&keepalives=0"
            "&connect_timeout=10&keepalives_interval=5&keepalives_count=3&tcp_user_timeout=30000",
        ),
        (
            "host=db-a dbname=nds tcp_user_timeout=5000",
            "host=db-a dbname=nds tcp_user_timeout=5000 connect_timeout=10 keepalives=1"
            " keepalives_idle=10 keepalives_interval=5 keepalives_count=3",
        ),
        ("postgresql://nds@db-a/nds?not a setting", "postgresql://nds@db-a/nds?not a setting"),
    ],
)
def test_database_links_notice_a_vanished_server_unless_the_url_says_otherwise(
    url: str, expected: str
) -> None:
    assert with_link_settings(url) == expected


async def test_every_connection_of_a_started_store_has_the_link_settings(
    two_pg_stores: tuple[PgStore, PgStore],
) -> None:
    a, _b = two_pg_stores
    await commit(a, lambda: a.table("notes").insert({"n": 1}))  # the committer connects
    await turn(a, "web:lan")
    await turn(a, "web:lan")  # the keeper connects (kept from the second turn)
    assert a._pool is not None and a._committer is not None
    keeper = await a._kept.connection()
    async with a._pool.connection() as pooled:
        links = {
            "start-up": a._sync.info.get_parameters(),
            "pooled": pooled.info.get_parameters(),
            "commits": a._committer.info.get_parameters(),
            "keeper": keeper.info.get_parameters() if keeper else {},
        }
    for name, parameters in links.items():
        assert {k: parameters.get(k) for k in LINK_SETTINGS} == LINK_SETTINGS, name


async def test_on_change_listeners_get_the_ids_another_store_changed(
    two_pg_stores: tuple[PgStore, PgStore],
) -> None:
    a, b = two_pg_stores
    heard_a: list[list[int]] = []
    heard_b: list[list[int]] = []
    a.on_change("faq", heard_a.append)
    b.on_change("faq", heard_b.append)
    b.on_change("other", lambda ids: heard_b.append([-1]))
    x, y = await commit(a, lambda: a.table("faq").insert_multiple([{"q": "x"}, {"q": "y"}]))
    await wait_until(lambda: sorted(i for ids in heard_b for i in ids) == [x, y], "insert", SOON)
    heard_b.clear()
    a.table("faq").update({"q": "x2"}, doc_ids=[x])
    a.table("faq").remove(doc_ids=[y])
    await wait_until(lambda: sorted(i for ids in heard_b for i in ids) == [x, y], "changes", SOON)
    assert b.table("faq").get(doc_id=x) == {"q": "x2"} and b.table("faq").get(doc_id=y) is None
    heard_b.clear()
    b.table("faq").insert({"q": "from b"})
    await b.flush()
    async with a.user_turn("web:x"):
        pass
    assert heard_a == [[z] for z in b.table("faq").doc_ids() if z not in (x, y)]
    assert heard_b == [], "a store's own commits are not reported to it"


async def test_loose_writes_commit_soon_and_by_flush(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    a, _b = two_pg_stores
    jobs = a.table("jobs")
    first = jobs.insert({"kind": "reminder"})  # outside any update: loose
    await wait_until(lambda: first in stored(pg_url, "jobs"), "a loose write to commit", SOON)
    jobs.update({"kind": "sent"}, doc_ids=[first])
    second = jobs.insert({"kind": "sweep"})
    await a.flush()  # what the notifier awaits before it tells anyone
    assert stored(pg_url, "jobs") == {first: {"kind": "sent"}, second: {"kind": "sweep"}}


async def test_writes_on_top_of_uncommitted_ones_commit_after_them(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    """An update and the jobs outside it write the same documents: commits keep their order.

    (The outbox job marks a row the update that created it has not committed yet; an update
    changes a row whose last change, made by a job, is still queued.)
    """
    a, b = two_pg_stores
    rows = a.table("outbox")

    async def job(write: Callable[[], Any]) -> None:
        write()
        await a.flush()  # commits what is outside updates; nothing here may fail

    with a.deferred_sync():
        row = rows.insert({"status": "pending"})
        await asyncio.create_task(job(lambda: rows.update({"status": "sending"}, doc_ids=[row])))
        await a.flush()
    assert stored(pg_url, "outbox") == {row: {"status": "sending"}} == in_memory(a, "outbox")

    rows.update({"status": "sent"}, doc_ids=[row])  # a job's write, queued
    with a.deferred_sync():
        rows.update(lambda d: d.update(seen=True), doc_ids=[row])
        await a.flush()
    assert stored(pg_url, "outbox") == {row: {"status": "sent", "seen": True}}
    assert in_memory(a, "outbox") == stored(pg_url, "outbox")
    await wait_until(lambda: in_memory(b, "outbox") == in_memory(a, "outbox"), "b", SOON)


async def test_flush_waits_for_a_background_commit_under_way(
    two_pg_stores: tuple[PgStore, PgStore], pg_url: str
) -> None:
    a, _b = two_pg_stores
    under_way, go_on = asyncio.Event(), asyncio.Event()
    real = a._commit_async

    async def slow_commit(*args: Any) -> None:
        under_way.set()
        await go_on.wait()
        await real(*args)

    a._commit_async = slow_commit  # type: ignore[method-assign]
    doc_id = a.table("jobs").insert({"kind": "reminder"})
    await under_way.wait()  # the background flush has taken the write and is committing it
    flushing = asyncio.create_task(a.flush())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not flushing.done(), "flush returned before the write it follows was committed"
    go_on.set()
    await flushing
    assert stored(pg_url, "jobs") == {doc_id: {"kind": "reminder"}}


def test_writes_before_start_commit_before_they_return(pg_url: str, tmp_path: Path) -> None:
    store = PgStore(pg_url, tmp_path)
    try:
        users = store.table("users")
        an = users.insert({"name": "An"})
        assert stored(pg_url, "users") == {an: {"name": "An"}}
        users.update({"name": "An Nông"}, doc_ids=[an])
        assert stored(pg_url, "users") == {an: {"name": "An Nông"}}
        users.remove(doc_ids=[an])
        assert stored(pg_url, "users") == {}
    finally:
        store.close()


def test_the_seeding_lock_brings_in_what_another_process_changed_since_open(
    pg_url: str, tmp_path: Path
) -> None:
    """At start, `startup_lock` reads only what differs from memory: changed, new and removed
    documents all come in, the unchanged ones stay as they were."""
    first = PgStore(pg_url, tmp_path / "one")
    try:
        faq = first.table("faq", indexes=("tag",))
        kept, changed, removed = (faq.insert({"tag": t}) for t in ("kept", "old", "gone"))
        second = PgStore(pg_url, tmp_path / "two")  # another process, opened after
        try:
            theirs = second.table("faq", indexes=("tag",))
            theirs.update({"tag": "new"}, doc_ids=[changed])
            theirs.remove(doc_ids=[removed])
            added = theirs.insert({"tag": "added"})
        finally:
            second.close()
        with first.startup_lock("seed"):
            assert in_memory(first, "faq") == {
                kept: {"tag": "kept"},
                changed: {"tag": "new"},
                added: {"tag": "added"},
            }
            assert first.find_ids(faq, {"tag": "new"}) == [changed]
            assert first.find_ids(faq, {"tag": "gone"}) == []
    finally:
        first.close()


def test_a_nul_character_is_kept_as_a_replacement_in_memory_and_database(
    pg_url: str, tmp_path: Path
) -> None:
    """jsonb cannot hold NUL; the embedded store keeps it (typed text is cleaned of it anyway)."""
    store = PgStore(pg_url, tmp_path)
    try:
        doc_id = store.table("t").insert({"text\0": "a\0b", "ok": "\\u0000"})
        expected = {"text\ufffd": "a\ufffdb", "ok": "\\u0000"}
        assert store.table("t").get(doc_id=doc_id) == expected
        assert stored(pg_url, "t") == {doc_id: expected}
    finally:
        store.close()


def test_stores_opening_a_fresh_database_together_migrate_once(
    pg_url: str, tmp_path: Path
) -> None:
    opened: list[PgStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def open_one(n: int) -> None:
        start.wait()
        try:
            opened.append(PgStore(pg_url, tmp_path / str(n)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert [s.schema for s in opened] == [SCHEMA_VERSION] * 3
        with psycopg.connect(pg_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT version, count(*) FROM schema_version GROUP BY 1 ORDER BY 1"
            )
            assert rows.fetchall() == [(n, 1) for n in range(1, len(SQL) + 1)]
    finally:
        for store in opened:
            store.close()


async def test_after_a_database_restart_writes_work_and_memories_catch_up(
    two_pg_stores: tuple[PgStore, PgStore],
    pg_cluster: PgCluster,
    pg_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = two_pg_stores
    notes_a, notes_b = a.table("notes"), b.table("notes")
    before = await commit(a, lambda: notes_a.insert({"text": "trước"}))
    async with b.user_turn("web:x"):
        assert notes_b.get(doc_id=before) == {"text": "trước"}
    caplog.set_level(logging.WARNING, logger="bot.storage.pg")
    third = PgStore(pg_url, tmp_path / "third")  # not started: it writes synchronously
    pg_cluster.restart()
    # The third process writes (on a new connection) while the two stores' change feeds
    # are still reconnecting.
    try:
        missed = third.table("notes").insert({"text": "trong lúc mất kết nối"})
        third.table("notes").update({"text": "đã sửa"}, doc_ids=[before])
    finally:
        third.close()
    expected = stored(pg_url, "notes")
    for store in (a, b):
        await wait_until(lambda s=store: in_memory(s, "notes") == expected, "catching up", 30)
    assert "database change feed lost" in caplog.text
    # Writes work again on both, at the first attempt, and reach the other (enough of them
    # to need new blocks of ids, fetched on new connections).
    after_a = await commit(a, lambda: notes_a.insert({"text": "sau, từ a"}))
    after_b = await commit(b, lambda: notes_b.insert({"text": "sau, từ b"}))
    more = [(await commit(s, lambda s=s: s.table("more").insert({}))) for s in (a, b) * 80]
    assert set(stored(pg_url, "notes")) == {before, missed, after_a, after_b}
    assert set(stored(pg_url, "more")) == set(more)
    for store in (a, b):
        async with store.user_turn("web:x"):
            assert in_memory(store, "notes") == stored(pg_url, "notes")


HANG_GUARD = 60.0  # seconds: a turn waiting on a lock nobody lets go fails instead of hanging


async def turn(store: PgStore, key: str, write: Callable[[], Any] | None = None) -> None:
    """One update's turn of `key` on `store`, writing (and committing) if given a write."""
    async with store.user_turn(key):
        if write is not None:
            with store.deferred_sync():
                write()
                await store.flush(ends_turn=True)


async def test_a_person_kept_by_one_process_is_let_go_when_another_gets_their_update(
    two_pg_stores: tuple[PgStore, PgStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After two turns of a person in a row, a process keeps their lock between turns (no
    round trip); a turn of theirs in another process asks for it and gets it at once (not
    after the idle let-go), seeing everything the first process committed."""
    monkeypatch.setattr(pg_kept, "KEEP_SECONDS", 3600.0)  # only the asking can free it
    a, b = two_pg_stores
    notes_a, notes_b = a.table("notes"), b.table("notes")
    await turn(a, "web:lan")
    await turn(a, "web:lan", lambda: notes_a.insert({"n": 1}))  # taken to keep, then kept
    assert a._kept.holds("web:lan")
    await asyncio.wait_for(turn(a, "web:lan", lambda: notes_a.insert({"n": 2})), HANG_GUARD)
    assert a._kept.holds("web:lan")

    async with asyncio.timeout(HANG_GUARD):
        async with b.user_turn("web:lan"):
            assert not a._kept.holds("web:lan")
            assert sorted(doc["n"] for doc in notes_b.all()) == [1, 2]
            with b.deferred_sync():
                notes_b.insert({"n": 3})
                await b.flush(ends_turn=True)
        # Back on the first process: its memory has b's write once the turn begins, and it
        # does not keep the person (their last turn was elsewhere).
        async with a.user_turn("web:lan"):
            assert sorted(doc["n"] for doc in notes_a.all()) == [1, 2, 3]
        assert not a._kept.holds("web:lan")
        # A person kept here while their turn runs is let go when that turn ends.
        await turn(a, "web:lan")
        await turn(a, "web:lan")
        assert a._kept.holds("web:lan")
        async with a.user_turn("web:lan"):
            other = asyncio.create_task(turn(b, "web:lan", lambda: notes_b.insert({"n": 4})))
            await wait_until(lambda: "web:lan" in a._kept._wanted, "b to ask", SOON)
            assert not other.done()  # b waits for the end of a's turn
        await other
        assert not a._kept.holds("web:lan")
        assert sorted(doc["n"] for doc in notes_b.all()) == [1, 2, 3, 4]
