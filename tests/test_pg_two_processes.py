"""Two processes on one PostgreSQL database, any update to either: the same bot.

Buyers' searches read an in-memory offer index and questions an in-memory FAQ matcher; each
process keeps its own. A change made through one process reaches the other's within moments
(the database's change feed), with no restart. A newcomer greeted by one process answers the
greeting's question through the other.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from bot.app import BotApp
from bot.core.clock import FakeClock
from tests.helpers.driver import Chat, make_app
from tests.helpers.msgids import ASK_HOW_TO_CALL, WELCOME
from tests.helpers.pg_apps import pg_apps, two_apps
from tests.helpers.waiting import wait_until
from tests.listings_helpers import stored

__all__ = ["pg_apps", "two_apps"]


async def test_a_listing_saved_in_one_process_is_offered_in_the_other(
    two_apps: tuple[BotApp, BotApp],
) -> None:
    first, second = two_apps
    [listing] = stored(first, farmer_id=1)
    await first.store.flush()
    offers = second.services.listings.offers
    await wait_until(lambda: listing.id in offers.offered(), "the listing offered in the other")
    listing.status = "sold_out"
    first.services.listings.save(listing)
    await first.store.flush()
    await wait_until(lambda: listing.id not in offers.offered(), "the sold-out listing withdrawn")


async def test_an_faq_edit_in_one_process_answers_in_the_other(
    two_apps: tuple[BotApp, BotApp],
) -> None:
    first, second = two_apps
    assert len(first.services.faq) == len(second.services.faq) > 0  # seeded once, not twice
    question = "Xe tải chở hàng đi Hà Nội mất bao lâu?"
    entry = first.services.faq.add(question, "Khoảng 4 giờ.", [], [], now="2026-12-01")
    await first.store.flush()
    faq = second.services.faq

    def answered() -> bool:
        best = faq.match("xe tai cho hang di ha noi mat bao lau").best
        return best is not None and best.entry_id == entry.id

    await wait_until(answered, "the new entry matched in the other process")
    first.services.faq.delete(entry.id)
    await first.store.flush()
    await wait_until(lambda: faq.get(entry.id) is None, "the deleted entry gone in the other")


async def test_two_processes_starting_on_a_new_database_seed_the_faq_once(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    apps = await asyncio.gather(  # at the same moment, as two processes would
        *(asyncio.to_thread(make_app, tmp_path / n, clock, database_url=pg_url) for n in "ab")
    )
    try:
        keys = [e.key for e in apps[1].services.faq.all()]
        assert keys and len(keys) == len(set(keys))
        assert len(apps[0].services.faq) == len(apps[1].services.faq)
        with psycopg.connect(pg_url) as conn:
            rows = conn.execute("SELECT doc->>'key' FROM docs WHERE tbl = 'faq'").fetchall()
        assert sorted(k for (k,) in rows) == sorted(keys)  # in the database: once each
    finally:
        for app in apps:
            await app.stop()


async def test_a_newcomer_greeted_by_one_process_answers_through_the_other(
    two_apps: tuple[BotApp, BotApp],
) -> None:
    first, second = two_apps
    on_first, on_second = (
        Chat(first, "telegram:501", "Hoàng Thị Lan"),
        Chat(second, "telegram:501", "Hoàng Thị Lan"),
    )
    await on_first.say("/start")
    assert on_first.said(WELCOME)
    await on_second.tap("name:keep")  # the answer reaches the other process
    assert on_second.said(ASK_HOW_TO_CALL, name="Lan")
    await on_first.tap("addr:chi")
    assert first.services.users.by_key("telegram:501") is not None


async def test_a_task_started_inside_an_update_commits_its_own_writes(
    two_apps: tuple[BotApp, BotApp],
) -> None:
    first, second = two_apps
    store, table = first.store, first.store.table("notes")
    later: list[asyncio.Task[None]] = []

    async def in_background() -> None:
        await asyncio.sleep(0.05)  # after the update has flushed and returned its connection
        table.insert({"by": "background"})

    async with store.user_turn("telegram:1"):
        with store.deferred_sync():
            table.insert({"by": "update"})
            later.append(asyncio.create_task(in_background()))
            await store.flush()
    await later[0]
    await store.flush()
    other = second.store.table("notes")
    await wait_until(lambda: len(other) == 2, "both writes committed and seen by the other")
