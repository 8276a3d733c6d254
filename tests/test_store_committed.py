"""`Store.committed()`: a block's writes as one commit, refused when another process was first."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    tmp_path: Path, pg_url: str
) -> None:
    one = StoreBackend("postgresql", pg_url).open_store(tmp_path / "a")
    two = StoreBackend("postgresql", pg_url).open_store(tmp_path / "b")
    for store in (one, two):
        await store.start()
    try:
        async with one.committed():
            doc_id = one.table("links").insert({"hash": "h1", "used_at": ""})
        await two.catch_up()
        assert two.table("links").get(doc_id=doc_id) == {"hash": "h1", "used_at": ""}
        # Both read the unused link and mark it used; the second commit is refused...
        with two.deferred_sync():
            two.table("links").update({"used_at": "two"}, doc_ids=[doc_id])  # not committed yet
            async with one.committed():
                one.table("links").update({"used_at": "one"}, doc_ids=[doc_id])
            with pytest.raises(StoreConflict):
                await two.flush()
        # ...and the refused process now sees the winner's document.
        assert two.table("links").get(doc_id=doc_id) == {"hash": "h1", "used_at": "one"}
    finally:
        for store in (one, two):
            await store.stop()
            store.close()
