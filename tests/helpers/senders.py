"""Two broadcast senders on one PostgreSQL database in one process (tests and bench).

A fake channel records when it sent what to whom; a "killed" sender's store is cut off the
database without a flush, the way `kill -9` leaves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from bot.app import BotApp
from bot.core.types import Reply
from bot.services.broadcast import Audience
from bot.services.outbox import IN_FLIGHT
from bot.services.users import TEAM
from tests.broadcast_helpers import Inbox, seed


@dataclass
class Channel:
    """A raw sender that records when it sent what to whom; a dead one sends nothing."""

    latency: float = 0.005  # a request's round trip
    sent: list[tuple[float, str]] = field(default_factory=list)
    dead: bool = False
    on_send: Callable[[int], None] | None = None

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        if self.dead:
            await asyncio.Event().wait()  # a killed process's requests never leave it
        self.sent.append((time.monotonic(), chat_id))
        if self.on_send is not None:
            self.on_send(len(self.sent))
        await asyncio.sleep(self.latency)

    async def close(self) -> None:
        return None


def prepare(app: BotApp, max_rate: float, claim_timeout: float, latency: float = 0.005) -> Channel:
    """The fake channel and fast timings for one app's sender."""
    channel = Channel(latency)
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


def busiest_second(times: list[float]) -> int:
    """The most sends in any closed 1-second window."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] > 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


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
