"""Rewrite the store's files soon after someone deletes their data, at most once a minute.

A deletion only appends a "removed" record: the person's name and phone stay in the older log
segments and the snapshot until a compaction folds them away, which growth alone would start
only after ~32 MB of new writes. Each deletion therefore asks for a compaction; requests made
within a minute of the last one share the next, so a create-and-delete loop cannot keep the
disk rewriting the whole store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.core.clock import Clock
from bot.services.tombstones import TombstoneRepo
from bot.storage.db import Store

log = logging.getLogger(__name__)

INTERVAL = timedelta(minutes=1)
POLL_SECONDS = 0.05  # how often a running compaction child is checked on


class Purger:
    """Starts the compaction that erases deleted data from disk; `job` runs it in the bot."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        tombstones: TombstoneRepo,
        interval: timedelta = INTERVAL,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tombstones = tombstones
        self._interval = interval
        self._last: datetime | None = None
        # A deletion waits for its compaction; also one the bot stopped before compacting.
        # On PostgreSQL the rows are deleted and autovacuum reclaims them: nothing to compact.
        self.pending = bool(tombstones.unpurged()) and not store.shared
        self.running = False
        self.runs = 0  # compactions finished for deletions (for tests and figures)
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()

    def request(self) -> None:
        """Ask for a compaction because data was deleted (synchronous: deletion hooks call it)."""
        if self._store.shared:
            return
        self.pending = True
        self._wake.set()

    def wake(self) -> None:
        """Make the job look again now (after a test moved its clock)."""
        self._wake.set()

    def due_in(self) -> float:
        """Seconds until the pending compaction may start (0: now)."""
        if self._last is None:
            return 0.0
        return max(0.0, (self._last + self._interval - self._clock.now()).total_seconds())

    async def run_due(self) -> bool:
        """Compact now if a deletion waits and the minute has passed; return whether it did."""
        if not self.pending or self.running or self.due_in() > 0:
            return False
        self.running = True
        try:
            await self._idle()  # a compaction started before the deletion does not cover it
            self.pending = False  # a deletion from now on needs the next one
            self._last = self._clock.now()
            covered = self._tombstones.unpurged()  # written before the segment now rotated
            before = self._store.engine.compactions
            if not self._store.compact(wait=False):
                self.pending = True
                return False
            await self._idle()
            if self._store.engine.compactions == before:
                log.warning("the compaction after a deletion failed; trying again later")
                self.pending = True
                return False
            self.runs += 1
            self._remove_torn_snapshots()
            self._tombstones.mark_purged(covered)
            log.info("store compacted after a deletion")
            return True
        finally:
            self.running = False
            async with self._changed:
                self._changed.notify_all()

    def finish(self) -> None:
        """At a stop: compact now if a deletion still waits, whatever the minute's limit.

        Else the person stays in the files for as long as the bot is down (and in any copy of
        DATA_DIR made meanwhile). Blocks until the child is done: the store closes next.
        """
        if not self.pending:
            return
        engine = self._store.engine
        engine.wait_compaction()
        covered = self._tombstones.unpurged()
        before = engine.compactions
        if self._store.compact(wait=True) and engine.compactions > before:
            self.pending = False
            self._remove_torn_snapshots()
            self._tombstones.mark_purged(covered)

    def _remove_torn_snapshots(self) -> None:
        """Delete snapshots that compactions killed mid-write left (they hold everyone).

        Only while no compaction runs: its own snapshot is written under such a name.
        """
        if self._store.engine.compacting:
            return
        for path in self._store.data_dir.glob("snap-*.jsonl.tmp"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    async def _idle(self) -> None:
        """Wait until no compaction child is running (it is a process: poll it)."""
        while self._store.engine.compacting:
            await asyncio.sleep(POLL_SECONDS)

    async def settled(self) -> None:
        """Wait until no deletion waits for its compaction (tests wait on this, not on time)."""
        async with self._changed:
            await self._changed.wait_for(lambda: not self.pending and not self.running)

    def job(self) -> Callable[[], Awaitable[None]]:
        """The background job: wait for requests, compact as soon as the minute allows."""

        async def purge() -> None:
            while True:
                delay = self.due_in() if self.pending else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                self._wake.clear()
                await self.run_due()

        return purge
