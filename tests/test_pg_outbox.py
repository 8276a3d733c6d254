"""The broadcast outbox with two senders on one PostgreSQL database (in one test process).

Two bot apps share a database and both run the outbox's sender for the same broadcast (the
"jobs" lease normally lets one run it; at a takeover, or a sender started by hand, two do).
Their fake channels record every message with the time it was sent: together they deliver
each notice exactly once, and never faster than the configured rate over any second. When
one sender dies mid-broadcast, the other takes its claims over once they are stale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.core.types import Reply
from bot.services.broadcast import DONE, Audience
from bot.services.outbox import IN_FLIGHT, MAX_CHUNK, MAX_IN_FLIGHT, SENT
from bot.services.users import TEAM
from tests.broadcast_helpers import Inbox, seed, until
from tests.helpers.driver import make_app

SEND_SECONDS = 0.005  # a fake request's round trip


@dataclass
class Channel:
    """A raw sender that records when it sent what to whom; a dead one sends nothing."""

    sent: list[tuple[float, str]] = field(default_factory=list)
    dead: bool = False
    on_send: Callable[[int], None] | None = None

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        if self.dead:
            await asyncio.Event().wait()  # a killed process's requests never leave it
        self.sent.append((time.monotonic(), chat_id))
        if self.on_send is not None:
            self.on_send(len(self.sent))
        await asyncio.sleep(SEND_SECONDS)

    async def close(self) -> None:
        return None


@pytest.fixture
async def two_apps(tmp_path: Path, clock: FakeClock, pg_url: str) -> AsyncIterator[list[BotApp]]:
    apps = [make_app(tmp_path / name, clock, database_url=pg_url) for name in ("a", "b")]
    for app in apps:
        await app.open()
    yield apps
    for app in apps:
        await app.stop()


def prepare(app: BotApp, max_rate: float, claim_timeout: float) -> Channel:
    """The fake channel and fast timings for one app's sender."""
    channel = Channel()
    outbox = app.services.outbox
    outbox.register("web", channel)
    app.services.notifier.register("web", Inbox())
    outbox.pacer.rate = max_rate
    outbox.pacer.per_chat_seconds = 0.01
    outbox.progress_every = 0.5
    outbox.claim_timeout = claim_timeout
    outbox.drain_seconds = 0.0
    return channel


async def broadcast_to(app: BotApp, recipients: int) -> int:
    """A notice from a team member to `recipients` farmers, started in one commit."""
    seed(app, recipients)
    users = app.services.users
    author = users.create("web:team", "Tổ viên Mai", app.services.clock.now().isoformat())
    author.registered, author.roles, author.team_areas = True, [TEAM], ["chi-lang"]
    users.save(author)
    store = app.store
    await store.flush()  # the people first, then the broadcast (commits reach others in order)
    now = app.services.clock.now()
    with store.deferred_sync():
        broadcast = app.services.broadcasts.create(
            author, "Mai có tập huấn", "", Audience(areas=["chi-lang"]), now, now, "form-1"
        )
        app.services.outbox.start(broadcast, now)
        await store.flush()
    return broadcast.id


async def until_done(app: BotApp, broadcast_id: int, timeout: float) -> None:
    def done() -> bool:
        found = app.services.broadcasts.get(broadcast_id)
        return found is not None and found.status == DONE and app.services.outbox.sending == 0

    await until(done, f"broadcast {broadcast_id} done", timeout)


def busiest_second(times: list[float]) -> int:
    """The most sends in any closed 1-second window."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] > 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_two_senders_deliver_each_notice_once_within_the_global_rate(
    two_apps: list[BotApp],
) -> None:
    max_rate, recipients = 10.0, 36
    channels = [prepare(app, max_rate, claim_timeout=30.0) for app in two_apps]
    broadcast_id = await broadcast_to(two_apps[0], recipients)
    senders = [asyncio.create_task(app.services.outbox.run()) for app in two_apps]
    try:
        await until_done(two_apps[0], broadcast_id, timeout=20.0)
        await until_done(two_apps[1], broadcast_id, timeout=5.0)
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
    got = [chat for ch in channels for _t, chat in ch.sent]
    assert sorted(got) == sorted(f"s{i}" for i in range(100, 100 + recipients))
    assert all(ch.sent for ch in channels), "both senders took part"
    assert busiest_second([t for ch in channels for t, _c in ch.sent]) <= max_rate
    counts = two_apps[1].services.outbox.counts(broadcast_id)
    assert counts[SENT] == recipients


async def test_a_sender_killed_mid_broadcast_is_taken_over(
    two_apps: list[BotApp], pg_url: str
) -> None:
    max_rate, recipients = 40.0, 80
    channels = [prepare(app, max_rate, claim_timeout=1.0) for app in two_apps]
    broadcast_id = await broadcast_to(two_apps[0], recipients)
    victim, survivor = two_apps
    killed = asyncio.Event()
    channels[0].on_send = lambda n: killed.set() if n == 15 else None
    senders = [asyncio.create_task(app.services.outbox.run()) for app in two_apps]
    try:
        await asyncio.wait_for(killed.wait(), 10.0)
        channels[0].dead = True  # kill -9: nothing more leaves the process, nothing is cleaned up
        senders[0].cancel()
        await abandon(victim)
        left = claims_of(pg_url, victim.services.outbox._claimer)
        await until_done(survivor, broadcast_id, timeout=10.0)
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
    got = [chat for ch in channels for _t, chat in ch.sent]
    everyone = {f"s{i}" for i in range(100, 100 + recipients)}
    assert set(got) == everyone
    duplicates = len(got) - len(everyone)
    assert duplicates <= len(left) <= MAX_IN_FLIGHT + MAX_CHUNK
    assert survivor.services.outbox.taken_over == len(left)
    assert busiest_second([t for ch in channels for t, _c in ch.sent]) <= max_rate
    assert survivor.services.outbox.counts(broadcast_id)[SENT] == recipients


async def abandon(app: BotApp) -> None:
    """Cut a store off the database the way a killed process does: no flush, no goodbye."""
    store = app.store
    listener = getattr(store, "_listener", None)
    if listener is not None:
        listener.cancel()
    pool = getattr(store, "_pool", None)
    if pool is not None:
        await pool.close(timeout=0)


def claims_of(url: str, claimer: str) -> list[int]:
    """Rows the database has as "sending" for this claimer."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id FROM docs WHERE tbl = 'outbox'"
            " AND doc->>'status' = %s AND doc->>'claimed_by' = %s",
            (IN_FLIGHT, claimer),
        ).fetchall()
    return [int(r[0]) for r in rows]
