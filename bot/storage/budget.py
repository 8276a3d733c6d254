"""A platform's send rate shared by every process: slots on one schedule kept by the database.

Telegram counts a bot's messages per second whichever process sends them, so with several
processes the broadcast outbox cannot pace itself alone. The shared store keeps one schedule
per channel (GCRA: the time after the last slot handed out); a process asks for `batch` slots
at once, `1/rate` apart, in one round trip, and starts each send at its slot. Slots never
overlap between processes, so the starts of all processes together are spaced `1/rate` apart.
A slot taken and not used is lost to everyone, so a process takes as many as it has sends
waiting for one, or more while it uses all it takes (doubling up to `batch`, halved when one
lapses).

A send may start a little after its slot (the event loop was busy, the answer to the request
came late), never before: each slot has a latest start, `spread` after the slot as the
database placed it, and a slot missed is dropped (the schedule loses it; nobody else used
it). The request's own round trip counts against `spread`, since the slot was placed
somewhere between sending the request and reading the answer. With starts within `spread`
of slots `1/rate` apart, a 1-second window holds at most `floor(rate * (1 + spread)) + 1`
starts, so the rate is chosen to keep that within the platform's limit (`schedule_rate`).

The embedded store serves one process, whose own pacer (bot/services/pacer.py) keeps the
limit: its budget lets every send go at once (`Unmetered`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

SPREAD = 0.1  # seconds a send may start after its slot, the request's round trip included
BATCH_SECONDS = 0.1  # slots taken per round trip: about this much sending
MAX_BATCH = 16

# (schedule name, slots per second, how many) -> seconds from the request to the first slot
Take = Callable[[str, float, int], Awaitable[float]]


class RateBudget(Protocol):
    """Where a send waits for its turn within the channel's rate, across processes."""

    async def turn(self) -> None:
        """Return when a send may start (start it at once)."""

    async def pause(self, seconds: float) -> None:
        """Let nobody send for `seconds` (the platform asked to wait: a 429's retry_after)."""


class Unmetered:
    """One process: its own pacer holds the rate, so every send may go at once."""

    async def turn(self) -> None:
        return None

    async def pause(self, seconds: float) -> None:
        return None


def schedule_rate(max_rate: float, spread: float = SPREAD) -> float:
    """Slots per second that keep every 1-second window within `max_rate` starts."""
    whole = math.floor(max_rate)
    if whole < 1:
        return max_rate / (1 + spread)
    # floor(rate * (1 + spread)) + 1 <= whole  <=>  rate * (1 + spread) < whole
    return whole / (1 + spread) * 0.999


class SharedBudget:
    """A channel's schedule in the shared store, taken `batch` slots per round trip."""

    def __init__(
        self,
        take: Take,
        name: str,
        max_rate: float,
        *,
        spread: float = SPREAD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._take = take
        self.name = name
        self.rate = schedule_rate(max_rate, spread)
        self.spread = spread
        self.batch = max(1, min(MAX_BATCH, round(self.rate * BATCH_SECONDS)))
        self._clock = clock
        self._slots: deque[tuple[float, float]] = deque()  # (earliest, latest) start, in order
        self._lock = asyncio.Lock()
        self._waiting = 0  # sends in `turn` without a slot yet
        self._size = 1  # slots to take next time (at least the sends waiting)
        self._missed = False  # a slot of the last batch lapsed
        self.round_trips = 0
        self.lapsed = 0  # slots dropped: missed, or their round trip took longer than `spread`

    async def turn(self) -> None:
        while True:
            self._waiting += 1
            try:
                async with self._lock:
                    now = self._clock()
                    while self._slots and self._slots[0][1] < now:
                        self._slots.popleft()
                        self._lapse()
                    if not self._slots:
                        await self._fetch(max(self._size, min(self.batch, self._waiting)))
                        continue
                    earliest, latest = self._slots.popleft()
                    if not self._slots and not self._missed:  # all used: take more next time
                        self._size = min(self.batch, self._size * 2)
            finally:
                self._waiting -= 1
            wait = earliest - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._clock() <= latest:
                return
            self._lapse()

    async def pause(self, seconds: float) -> None:
        async with self._lock:
            self._slots.clear()
            self.round_trips += 1
            await self._take(self.name, self.rate, max(1, math.ceil(seconds * self.rate)))

    def _lapse(self) -> None:
        self.lapsed += 1
        self._missed = True
        self._size = max(1, self._size // 2)

    async def _fetch(self, count: int) -> None:
        sent = self._clock()
        first = await self._take(self.name, self.rate, count)
        answered = self._clock()
        self.round_trips += 1
        self._missed = False
        step = 1.0 / self.rate
        for i in range(count):
            # The database placed slot i somewhere in [sent, answered] + first + i * step.
            earliest = answered + first + i * step
            latest = sent + first + i * step + self.spread
            if earliest <= latest:
                self._slots.append((earliest, latest))
            else:
                self._lapse()
