"""Time as the bot sees it; tests replace it to move time forward."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class Clock:
    """Real time, in UTC."""

    def now(self) -> datetime:
        """The current moment (timezone-aware UTC)."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (a timer job's pause between passes)."""
        await asyncio.sleep(seconds)


class FakeClock(Clock):
    """A clock a test sets and advances; its sleepers wake when it is advanced, never on their own."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
        self._sleeping: list[tuple[datetime, asyncio.Future[None]]] = []
        self._watchers: list[asyncio.Future[None]] = []  # tests waiting for a sleeper

    def now(self) -> datetime:
        """The moment the test set."""
        return self._now

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. advance(hours=13), waking whoever sleeps until then."""
        self._now += timedelta(**delta)
        due = [(at, wake) for at, wake in self._sleeping if at <= self._now]
        self._sleeping = [(at, wake) for at, wake in self._sleeping if at > self._now]
        for _at, wake in due:
            if not wake.done():
                wake.set_result(None)

    async def sleep(self, seconds: float) -> None:
        """Wait until the test advances this clock by `seconds`; no real time passes."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        entry = (self._now + timedelta(seconds=seconds), wake)
        self._sleeping.append(entry)
        for watcher in self._watchers:
            if not watcher.done():
                watcher.set_result(None)
        try:
            await wake
        finally:
            if entry in self._sleeping:  # cancelled (the app stopped) before it was due
                self._sleeping.remove(entry)

    async def sleepers(self, count: int, timeout: float = 10.0) -> None:
        """Wait (for real, up to `timeout` s) until `count` tasks sleep on this clock.

        After `advance`, this is how a test knows a timer job finished the pass it woke for:
        the job is asleep again. Fails saying so when it does not come back.
        """
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while len(self._sleeping) < count:
                    watcher = loop.create_future()
                    self._watchers.append(watcher)
                    try:
                        await watcher
                    finally:
                        self._watchers.remove(watcher)
        except TimeoutError:
            raise AssertionError(
                f"waited {timeout}s for {count} task(s) to sleep on the clock;"
                f" {len(self._sleeping)} did"
            ) from None
