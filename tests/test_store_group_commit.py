"""One fsync per update, shared by users answered at the same time, and never skipped."""

from __future__ import annotations

import asyncio
import errno
import os
import time
from pathlib import Path
from typing import Any

import pytest

from bot.channels.plain import incoming_text
from bot.storage import log as log_module
from bot.storage.db import Store, StoreError
from tests.helpers.driver import Chat, make_app
from tests.helpers.store_checks import as_dict

COULD_NOT_SAVE = "chưa lưu được"


def reopened(store: Store, path: Path, table: str) -> dict[int, Any]:
    """Close the store and read `table` back from disk."""
    store.close()
    with Store(path) as again:
        return as_dict(again.table(table))


class Syncs:
    """Counts fsyncs; can make them slow or failing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.delay = 0.0
        self.fail: int | None = None
        monkeypatch.setattr(log_module, "_os_sync", self._sync)

    def _sync(self, fd: int) -> None:
        self.count += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise OSError(self.fail, os.strerror(self.fail))
        os.fdatasync(fd)


async def test_deferred_writes_wait_for_one_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    users = store.table("users", indexes=("area",))
    syncs = Syncs(monkeypatch)
    with store.deferred_sync():
        users.insert({"area": "cao-loc"})
        users.update({"area": "bac-son"}, doc_ids=[1])
        users.insert({"area": "loc-binh"})
    assert syncs.count == 0
    assert store.engine._writer is not None
    assert store.engine._writer.synced < store.engine._writer.size
    await store.flush()
    assert syncs.count == 1
    await store.flush()  # nothing new: no second fsync
    assert syncs.count == 1
    users.insert({"area": "van-quan"})  # outside the block: fsync'd at once
    assert syncs.count == 2
    assert reopened(store, tmp_path, "users") == {
        1: {"area": "bac-son"},
        2: {"area": "loc-binh"},
        3: {"area": "van-quan"},
    }


async def test_users_answered_together_share_an_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    table = store.table("conversations")
    syncs = Syncs(monkeypatch)
    syncs.delay = 0.05  # the first fsync is still running while the others write

    async def one_update(n: int) -> None:
        with store.deferred_sync():
            table.insert({"n": n})
        await store.flush()

    await asyncio.gather(*(one_update(n) for n in range(10)))
    assert 1 <= syncs.count <= 2, syncs.count
    assert len(reopened(store, tmp_path, "conversations")) == 10


async def test_newcomers_worked_on_one_at_a_time_still_share_an_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path)
    chats = [Chat(app, f"web:newcomer{n}", f"Hoa {n}") for n in range(10)]
    for chat in chats:
        await chat.say("/start")  # greeted: nothing stored yet
    syncs = Syncs(monkeypatch)
    syncs.delay = 0.05  # the first fsync is still running while the others are worked on
    one_at_a_time = asyncio.Semaphore(1)  # the web chat's lane for people not registered
    answers = await asyncio.gather(
        *(
            app.engine.handle(incoming_text("web", c.user_key, c.name), one_at_a_time)
            for c in chats
        )
    )
    assert all(a and COULD_NOT_SAVE not in a[0].text for a in answers)
    assert len(app.services.users.all()) == 10  # each answer made its record
    assert 1 <= syncs.count <= 2, syncs.count  # the lane is left before the fsync
    app.store.close()


async def test_a_task_started_inside_fsyncs_its_own_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    table = store.table("outbox")
    syncs = Syncs(monkeypatch)
    with store.deferred_sync():
        # Nothing would flush for a background task: its writes must not wait for a flush.
        await asyncio.create_task(_insert_later(table))
        assert syncs.count == 1
    store.close()


async def _insert_later(table: object) -> None:
    table.insert({"sent": True})  # type: ignore[attr-defined]


async def test_a_failed_flush_is_reported_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    table = store.table("users")
    syncs = Syncs(monkeypatch)
    with store.deferred_sync():
        table.insert({"name": "Lan"})
    syncs.fail = errno.EIO
    with pytest.raises(StoreError):
        await store.flush()
    syncs.fail = None
    await store.flush()
    assert store.engine._writer is not None
    assert store.engine._writer.synced == store.engine._writer.size
    assert reopened(store, tmp_path, "users") == {1: {"name": "Lan"}}


async def test_compaction_makes_deferred_writes_durable_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    table = store.table("users")
    syncs = Syncs(monkeypatch)
    with store.deferred_sync():
        table.insert({"name": "Lan"})
        assert syncs.count == 0
        assert store.compact(wait=True)
        assert syncs.count == 1  # the old segment, before the snapshot was cut from it
    await store.flush()
    assert syncs.count == 1  # nothing left to sync
    assert reopened(store, tmp_path, "users") == {1: {"name": "Lan"}}


async def test_one_fsync_per_update_in_a_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path)
    chat = Chat(app)
    await chat.onboard()
    syncs = Syncs(monkeypatch)
    steps = ["ho so", "/menu", "/huy", "1"]
    for step in steps:
        await chat.say(step)
        assert COULD_NOT_SAVE not in chat.text()
    assert 1 <= syncs.count <= len(steps), syncs.count
    app.store.close()


async def test_disk_full_mid_conversation_gets_a_clear_reply_then_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path)
    chat = Chat(app)
    await chat.onboard()
    await chat.say("ho so")
    profile = chat.text()
    real_write = log_module._os_write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(log_module, "_os_write", full)
    await chat.say("/menu")
    await chat.say("ho so")
    assert COULD_NOT_SAVE in chat.text()
    syncs = Syncs(monkeypatch)
    syncs.fail = errno.ENOSPC
    monkeypatch.setattr(log_module, "_os_write", real_write)
    await chat.say("ho so")
    assert COULD_NOT_SAVE in chat.text()  # written but not durable: not acknowledged
    syncs.fail = None
    await chat.say("/menu")
    await chat.say("ho so")
    assert chat.text() == profile
    app.store.close()
