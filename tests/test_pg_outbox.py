"""The broadcast outbox with two senders on one PostgreSQL database (in one test process).

Two bot apps share a database and both run the outbox's sender for the same broadcast (the
"jobs" lease normally lets one run it; at a takeover, or a sender started by hand, two do).
Their fake channels record every message with the time it was sent: together they deliver
each notice exactly once, and never faster than the configured rate over any second. When
one sender dies mid-broadcast, the other takes its claims over once they are stale.
"""

from __future__ import annotations

import asyncio

import psycopg

from bot.app import BotApp
from bot.services.broadcast import DONE, Audience
from bot.services.outbox import MAX_CHUNK, MAX_IN_FLIGHT, SENT
from tests.broadcast_helpers import seed, until
from tests.helpers.pg_apps import pg_apps, two_apps
from tests.helpers.senders import abandon, broadcast_to, busiest_second, claims_of, prepare

__all__ = ["pg_apps", "two_apps"]


async def until_done(app: BotApp, broadcast_id: int, timeout: float) -> None:
    def done() -> bool:
        found = app.services.broadcasts.get(broadcast_id)
        return found is not None and found.status == DONE and app.services.outbox.sending == 0

    await until(done, f"broadcast {broadcast_id} done", timeout)


async def test_two_senders_deliver_each_notice_once_within_the_global_rate(
    two_apps: tuple[BotApp, BotApp],
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
    two_apps: tuple[BotApp, BotApp], pg_url: str
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
        await asyncio.sleep(0.3)  # a statement the server had already received still commits
        left = claims_of(pg_url, victim.services.outbox.claimer)
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


async def test_a_due_broadcast_started_by_two_senders_at_once_is_written_once(
    two_apps: tuple[BotApp, BotApp], pg_url: str
) -> None:
    first, second = two_apps
    seed(first, 20)
    author = first.services.users.create("web:team", "Tổ viên Mai", "2026-11-26T08:00:00+00:00")
    await first.store.flush()
    now = first.services.clock.now()
    audience = Audience(areas=["chi-lang"])
    created = first.services.broadcasts.create(author, "Họp", "", audience, now, now, "f")
    await first.store.flush()
    await until(lambda: second.services.broadcasts.get(created.id) is not None)
    due = [app.services.broadcasts.due(now) for app in two_apps]
    assert [len(d) for d in due] == [1, 1]
    # Each process also has a write of its own waiting for the background commit (someone
    # just opened the chat): the start that loses must not take that write down with it.
    newcomers = [f"web:new-{n}" for n in range(len(two_apps))]
    for app, key in zip(two_apps, newcomers, strict=True):
        app.services.users.create(key, "Khách mới", now.isoformat())
    await asyncio.gather(
        *(app.services.outbox._start_due(d[0]) for app, d in zip(two_apps, due, strict=True))
    )
    for app in two_apps:
        await app.store.flush()
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM docs WHERE tbl = 'outbox'").fetchone()
        users = conn.execute("SELECT doc FROM docs WHERE tbl = 'users'").fetchall()
    assert row is not None and row[0] == 20
    assert sorted(k for (doc,) in users for k in doc["ident"] if k in newcomers) == newcomers
