"""Pacing for the broadcast outbox: a platform's flood limits kept as the platform counts them.

Telegram refuses (429) more than about 30 messages a second from one bot and about one a
second to one chat. The platform counts a message when its request arrives, which is some
time after we start it and before we get the answer. So a message is counted here from its
answer, and a send in flight holds a slot until then: a new send starts only once the message
`rate` places back was answered a full second ago. Then no 1-second window the platform sees
holds more than `rate`, whatever the network delays; the price is one round trip per second
of pacing (about 1 % on a LAN, more on a slow link).

Conversation replies take their slots from the same window (`acquire_reply`), ahead of the
broadcast: a reply waiting for a slot holds back the next broadcast send, so a farmer's answer
waits at most for the oldest message in the window to turn a second old, and broadcasts use
whatever the replies leave, up to the whole limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

PER_CHAT_SECONDS = 1.0  # Telegram: about one message per second to one chat
CHAT_MEMORY = 4096  # chats remembered before old ones are forgotten


class Slot:
    """A place in the window, held by one send from its start to its answer."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = True


class Pacer:
    """Grants send slots within `rate` per second and one message per chat per second."""

    def __init__(
        self,
        rate: float,
        per_chat_seconds: float = PER_CHAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,  # tests move time themselves
    ) -> None:
        self._now = clock
        self.rate = rate
        self.per_chat_seconds = per_chat_seconds
        self._window: deque[float] = deque()  # when recent messages were answered
        self._held = 0  # slots of sends started and not answered yet
        self._last_start = 0.0
        self._paused_until = 0.0
        self._chat_last: dict[str, float] = {}
        self._replies_waiting = 0  # replies queued for a slot: broadcasts let them go first

    async def acquire(self) -> Slot:
        """Wait for a slot; starts are at least half an interval apart (smooth, can catch up)."""
        capacity = max(1, math.floor(self.rate))
        spacing = 0.5 / self.rate
        window = self._window
        await asyncio.sleep(0)  # always let conversations run between sends
        while True:
            now = self._now()
            while window and window[0] <= now - 1.0:
                window.popleft()
            waits = [self._paused_until - now, self._last_start + spacing - now]
            if len(window) + self._held + self._replies_waiting >= capacity:
                waits.append(window[0] + 1.0 - now if window else 0.001)
            wait = max(waits)
            if wait <= 0:
                break
            await asyncio.sleep(max(wait, 0.0005))
        self._last_start = self._now()
        self._held += 1  # no await since the check: the slot is the caller's
        return Slot()

    async def acquire_reply(self) -> Slot:
        """A slot for a conversation reply: ahead of broadcasts, no spacing, no chat turn."""
        capacity = max(1, math.floor(self.rate))
        window = self._window
        self._replies_waiting += 1
        try:
            while True:
                now = self._now()
                while window and window[0] <= now - 1.0:
                    window.popleft()
                wait = self._paused_until - now
                if len(window) + self._held >= capacity:
                    wait = max(wait, window[0] + 1.0 - now if window else 0.001)
                if wait <= 0:
                    break
                await asyncio.sleep(max(wait, 0.0005))
        finally:
            self._replies_waiting -= 1
        self._held += 1
        return Slot()

    def release(self, slot: Slot, counted: bool) -> None:
        """Give a slot back; a message the platform answered (`counted`) stays in the window."""
        if slot.held:
            slot.held = False
            self._held -= 1
            if counted:
                self._window.append(self._now())

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (a 429's retry_after applies to the whole bot)."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    async def chat_turn(self, key: str) -> None:
        """Wait until the chat's last message was answered `per_chat_seconds` ago."""
        last = self._chat_last.get(key)
        if last is not None:
            wait = last + self.per_chat_seconds - self._now()
            if wait > 0:
                await asyncio.sleep(wait)

    def chat_sent(self, key: str) -> None:
        """Remember when a chat's send was answered (the platform counted it by then)."""
        now = self._now()
        self._chat_last[key] = now
        if len(self._chat_last) > CHAT_MEMORY:
            old = [k for k, t in self._chat_last.items() if now - t > self.per_chat_seconds]
            for k in old:
                del self._chat_last[k]
