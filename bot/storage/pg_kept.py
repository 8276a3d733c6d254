"""People's turn locks a process keeps between their turns (PostgreSQL store).

A person's update is handled under their advisory lock, taken with a barrier (one round trip)
and let go after the commit (see `PgStore.user_turn`). When a person's updates keep coming to the
same process — one process, or a load balancer that sends a person to the same one — those
round trips buy nothing: nobody else handled them in between. So when a person's previous turn
was here too, the process takes their lock on a connection of its own (the keeper) and keeps
it: while it is kept, their turns begin at once, without the barrier (nothing of theirs can have
been committed elsewhere) and commit without letting go.

Every turn that begins with the barrier says whose it is (a short hash of the key) in its
notification, and a person's lock is tried before it is waited on, so that notification goes
out first. A process that keeps that person's lock lets it go at once (or when the turn it is
running ends), so the other process, waiting on the lock, gets it and its barrier then brings
in everything this one committed. A process that merely saw the person's previous turn
forgets it: the next turn here does not keep. Kept locks are let go after KEEP_SECONDS unused,
and no more than KEEP_MAX are kept (advisory locks use the server's shared lock table).

The keeper's locks live as long as its connection: if it fails, or the change feed is cut (the
database may have restarted), every kept lock is forgotten and turns begin with the barrier
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any

import psycopg

from bot.storage.errors import quiet

log = logging.getLogger(__name__)

KEEP_SECONDS = 5.0  # a kept lock unused this long is let go
KEEP_MAX = 500  # people whose locks one process keeps at most
RECENT_MAX = 10_000  # people whose last turn is remembered to have been here


def turn_hash(key: str) -> str:
    """Whose turn it is, in a notification: short, and not the key (a web session id)."""
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class KeptLocks:
    """The keeper connection, the locks it holds, and whose last turn was here."""

    def __init__(self, url: str, release_sql: str, space: int) -> None:
        self._url = url
        self._release_sql = release_sql  # parameters: the lock space, the keys
        self._space = space
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.statements = asyncio.Lock()  # one statement at a time on the keeper
        self._kept: dict[str, str] = {}  # hash -> key, locks the keeper holds
        self._used: dict[str, float] = {}  # key -> when its last turn here ended
        self._busy: set[str] = set()  # kept keys whose turn is running
        self._wanted: set[str] = set()  # kept keys another process asked for
        self._recent: OrderedDict[str, None] = OrderedDict()  # hashes of turns last here
        self._asked: dict[str, float] = {}  # hash -> when another process last asked
        self._sweeper: asyncio.Task[None] | None = None
        self._releasing: set[asyncio.Task[None]] = set()

    def holds(self, key: str) -> bool:
        return turn_hash(key) in self._kept

    def worth_keeping(self, key: str) -> bool:
        """Whether the person's previous turn was here too (and there is room)."""
        return turn_hash(key) in self._recent and len(self._kept) < KEEP_MAX

    def was_here(self, key: str) -> None:
        """A turn of this person ended here, not kept."""
        recent, hashed = self._recent, turn_hash(key)
        recent[hashed] = None
        recent.move_to_end(hashed)
        while len(recent) > RECENT_MAX:
            recent.popitem(last=False)

    async def connection(self) -> psycopg.AsyncConnection[Any] | None:
        """The keeper, connected if need be; None if the database cannot be reached."""
        if self._conn is None or self._conn.closed:
            self._forget_all()
            try:
                self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            except psycopg.Error as exc:
                log.info("no connection to keep people's turns on (%s)", quiet(exc))
                return None
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        return self._conn

    def asked_since(self) -> float:
        """A mark to pass to `taken`: another process asking from now on is not missed."""
        return time.monotonic()

    def taken(self, key: str, mark: float) -> None:
        """The keeper now holds this person's lock (taken after `mark`). If another process
        asked for it meanwhile, before this one held it, it is let go after this turn."""
        hashed = turn_hash(key)
        self._kept[hashed] = key
        self._used[key] = time.monotonic()
        if self._asked.get(hashed, 0.0) >= mark:
            self._wanted.add(key)

    def begin(self, key: str) -> None:
        self._busy.add(key)

    async def end(self, key: str) -> None:
        """A kept turn ended: keep the lock, unless another process asked for it meanwhile."""
        self._busy.discard(key)
        self._used[key] = time.monotonic()
        if key in self._wanted:
            await self.release([key])

    def elsewhere(self, hashed: str) -> None:
        """A turn of this person began (or waits to) in another process (called by the change
        feed, which must not wait: the lock is let go by a task of its own)."""
        self._recent.pop(hashed, None)
        now = time.monotonic()
        self._asked[hashed] = now
        if len(self._asked) > RECENT_MAX:  # only asks during a take in flight matter
            self._asked = {h: at for h, at in self._asked.items() if at > now - 10.0}
        key = self._kept.get(hashed)
        if key is None:
            return
        if key in self._busy:
            self._wanted.add(key)  # let go when the turn ends
        else:
            task = asyncio.get_running_loop().create_task(self.release([key]))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def release(self, keys: list[str]) -> None:
        """Let these locks go (they are forgotten even if the keeper fails: then it is closed,
        which lets every lock of its session go)."""
        held = [key for key in keys if self._kept.pop(turn_hash(key), None) is not None]
        for key in keys:
            self._used.pop(key, None)
            self._wanted.discard(key)
        conn = self._conn
        if conn is None or conn.closed or not held:
            return
        try:
            async with self.statements:
                await conn.execute(self._release_sql, (self._space, held))
        except psycopg.Error as exc:
            log.warning("could not let kept turns go (%s); closing their connection", quiet(exc))
            await self.lost()

    async def lost(self) -> None:
        """The keeper failed or the change feed was cut: forget every kept lock (closing the
        connection lets the server drop them all)."""
        self._forget_all()
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None

    async def stop(self) -> None:
        await asyncio.gather(*self._releasing, return_exceptions=True)
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await self.lost()

    def _forget_all(self) -> None:
        self._kept.clear()
        self._used.clear()
        self._wanted.clear()

    async def _sweep(self) -> None:
        """Let go of locks unused for KEEP_SECONDS."""
        while True:
            await asyncio.sleep(KEEP_SECONDS / 5)
            cutoff = time.monotonic() - KEEP_SECONDS
            idle = [k for k, at in self._used.items() if at < cutoff and k not in self._busy]
            if idle:
                await self.release(idle)
