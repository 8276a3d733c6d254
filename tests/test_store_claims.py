"""Claims and the shared send budget: the store contract the broadcast outbox relies on."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from telegram.error import RetryAfter

from bot.channels.telegram_limits import ReplyRateLimiter
from bot.services.pacer import Pacer
from bot.storage.budget import SharedBudget, schedule_rate
from bot.storage.errors import StoreError
from bot.storage.pg import PgStore
from tests.helpers.pg_fixtures import StoreBackend
from tests.helpers.waiting import wait_until


def pending(doc: dict[str, object]) -> bool:
    return doc.get("status") == "pending"


async def test_a_conditional_write_sets_each_document_on_its_own(
    backend: StoreBackend, tmp_path: Path
) -> None:
    store = backend.open_store(tmp_path / "data")
    await store.start()
    try:
        table = store.table("outbox", indexes=("status",))
        ids = table.insert_multiple([{"status": "pending"}, {"status": "sent"}, {}])
        await store.flush()
        got = await store.set_if_unchanged(table, [*ids, 999], {"status": "sending"}, pending)
        assert got == [ids[0]]
        assert [table.by_id(i)["status"] for i in ids[:2]] == ["sending", "sent"]
        assert store.find_ids(table, {"status": "sending"}) == [ids[0]]
    finally:
        await store.stop()
        store.close()


async def test_a_row_claimed_by_one_process_is_skipped_by_the_other(
    two_pg_stores: tuple[PgStore, PgStore],
) -> None:
    first, second = two_pg_stores
    rows = first.table("outbox")
    ids = rows.insert_multiple([{"status": "pending"} for _ in range(3)])
    await first.flush()
    theirs = second.table("outbox")
    await wait_until(lambda: len(theirs) == 3, "the rows reach the second process")
    assert await first.set_if_unchanged(rows, ids[:2], {"status": "sending"}, pending) == ids[:2]
    # At once, whether or not the first claim has reached the second process's memory.
    got = await second.set_if_unchanged(theirs, ids, {"status": "sending", "by": "b"}, pending)
    assert got == [ids[2]]
    assert [theirs.by_id(i).get("by") for i in ids] == [None, None, "b"]
    assert [theirs.by_id(i)["status"] for i in ids] == ["sending"] * 3
    await wait_until(lambda: rows.by_id(ids[2]).get("by") == "b", "the claim reaches the first")


async def test_the_send_budget_holds_the_rate_for_all_processes_together(
    two_pg_stores: tuple[PgStore, PgStore],
) -> None:
    max_rate, sends = 20.0, 40
    starts: list[float] = []

    async def sender(budget: SharedBudget) -> None:
        for _ in range(sends // 4):
            await budget.turn()
            starts.append(time.monotonic())

    budgets = [store.rate_budget("send:test", max_rate) for store in two_pg_stores * 2]
    assert all(isinstance(b, SharedBudget) for b in budgets)
    await asyncio.gather(*(sender(b) for b in budgets if isinstance(b, SharedBudget)))
    starts.sort()
    window = [sum(1 for t in starts if s <= t <= s + 1.0) for s in starts]
    assert max(window) <= max_rate
    assert len(starts) == sends


def test_the_slot_rate_leaves_room_for_late_starts() -> None:
    for limit in (1.0, 2.5, 10.0, 30.0):
        rate = schedule_rate(limit, spread=0.1)
        # Starts within 0.1 s of slots 1/rate apart: at most floor(rate * 1.1) + 1 a second.
        assert int(rate * 1.1) + 1 <= limit
    assert schedule_rate(0.5, spread=0.1) < 0.5


class CountingBudget:
    """A send budget that counts turns and pauses."""

    def __init__(self) -> None:
        self.turns = 0
        self.paused: list[float] = []

    async def turn(self) -> None:
        self.turns += 1

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


async def test_telegram_replies_take_turns_in_the_shared_budget() -> None:
    budget = CountingBudget()
    limiter = ReplyRateLimiter(Pacer(1000.0), budget)
    refusals: list[RetryAfter] = []

    async def call() -> bool:
        if refusals:
            raise refusals.pop()
        return True

    assert await limiter.process_request(call, (), {}, "getUpdates", {}, None)
    assert budget.turns == 0  # not a message: free
    assert await limiter.process_request(call, (), {}, "sendMessage", {}, None)
    assert budget.turns == 1
    refusals.append(RetryAfter(0.01))
    assert await limiter.process_request(call, (), {}, "sendMessage", {}, None)
    assert budget.turns == 3 and budget.paused == [0.01]  # a 429 pauses every process


class AwayBudget(CountingBudget):
    """A send budget whose database is away until told otherwise."""

    away = True

    async def turn(self) -> None:
        if self.away:
            raise StoreError("database unreachable")
        await super().turn()


async def test_replies_go_on_while_the_budget_is_away_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = AwayBudget()
    limiter = ReplyRateLimiter(Pacer(1000.0), budget)

    async def call() -> bool:
        return True

    with caplog.at_level(logging.INFO, logger="bot.channels.telegram_limits"):
        for _ in range(5):
            assert await limiter.process_request(call, (), {}, "sendMessage", {}, None)
        budget.away = False
        assert await limiter.process_request(call, (), {}, "sendMessage", {}, None)
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "the shared send budget is unreachable; replying on local pacing",
        "the shared send budget is reachable again",
    ]
    assert budget.turns == 1
