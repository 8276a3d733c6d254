"""`Store.committed()`: a block's writes as one commit, refused when another process was first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from bot.storage.db import Store
from bot.storage.errors import StoreConflict
from tests.helpers.pg_fixtures import StoreBackend


async def test_a_committed_block_is_kept_once_it_ends(
    tmp_path: Path, backend: StoreBackend
) -> None:
    store = backend.open_store(tmp_path / "d")
    await store.start()
    async with store.committed():
        store.table("links").insert({"hash": "h1", "used_at": ""})
    await store.stop()
    store.close()
    with backend.open_store(tmp_path / "d") as again:
        assert [d["hash"] for d in again.table("links")] == ["h1"]


@pytest.mark.pg
async def test_of_two_processes_writing_one_document_the_second_is_refused(
    two_pg_stores: tuple[Store, Store],
) -> None:
    one, two = two_pg_stores
    async with one.committed():
        doc_id = one.table("links").insert({"hash": "h1", "used_at": ""})
    await two.catch_up()
    assert two.table("links").get(doc_id=doc_id) == {"hash": "h1", "used_at": ""}
    # Both read the unused link and mark it used; the second commit is refused...
    marked, go = asyncio.Event(), asyncio.Event()

    async def second() -> None:  # another process: its own update, not yet committed
        with two.deferred_sync():
            two.table("links").update({"used_at": "two"}, doc_ids=[doc_id])
            marked.set()
            await go.wait()
            await two.flush()

    late = asyncio.create_task(second())
    await marked.wait()
    async with one.committed():
        one.table("links").update({"used_at": "one"}, doc_ids=[doc_id])
    go.set()
    with pytest.raises(StoreConflict):
        await late
    # ...and the refused process now sees the winner's document.
    assert two.table("links").get(doc_id=doc_id) == {"hash": "h1", "used_at": "one"}


@pytest.mark.pg
async def test_flush_waits_for_a_commit_already_under_way(tmp_path: Path, pg_url: str) -> None:
    store = StoreBackend("postgresql", pg_url).open_store(tmp_path / "a")
    await store.start()
    try:
        for round_ in range(5):
            doc_id = store.table("notes").insert({"n": round_})  # outside an update: queued
            await asyncio.sleep(0)  # the background commit takes it and is under way
            await asyncio.sleep(0)
            await store.flush()  # "done" may be told now: it must be in the database
            with psycopg.connect(pg_url) as conn:
                row = conn.execute(
                    "SELECT doc->>'n' FROM docs WHERE tbl = 'notes' AND id = %s", (doc_id,)
                ).fetchone()
            assert row == (str(round_),)
    finally:
        await store.stop()
        store.close()
