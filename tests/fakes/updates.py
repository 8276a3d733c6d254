"""The getUpdates queue: offsets, confirmation, long polling and crash redelivery."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.gates import ApiError
from tests.fakes.jsoncopy import json_copy

_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


@dataclass
class _Queued:
    """An update waiting in the queue; a redelivered one ignores the offset once."""

    update: dict[str, Any]
    redelivery: bool = False
    delivered: bool = False

    @property
    def update_id(self) -> int:
        """The update's id."""
        return int(self.update["update_id"])


class UpdateQueue:
    """Updates for the bot, handed out by getUpdates the way Telegram does."""

    def __init__(self, first_id: int = 10_000) -> None:
        self._items: list[_Queued] = []
        self._history: dict[int, dict[str, Any]] = {}
        self._next_id = first_id
        self._wake = asyncio.Event()
        self._poll_generation = 0
        self.closing = False
        self.last_delivery = time.monotonic()
        self.handed_out = 0  # updates getUpdates returned so far, repeats included

    def assign_id(self, update: dict[str, Any]) -> dict[str, Any]:
        """Give an update the next update_id unless it has one."""
        if "update_id" not in update:
            update = {"update_id": self._next_id, **update}
        self._next_id = max(self._next_id, int(update["update_id"]) + 1)
        return update

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update and return its id."""
        update = self.assign_id(update)
        self._history[update["update_id"]] = json_copy(update)
        self._items.append(_Queued(update))
        self._notify()
        return int(update["update_id"])

    def redeliver(self, update_id: int) -> None:
        """Queue an earlier update again with its same id, as Telegram does after a crash."""
        if update_id not in self._history:
            raise KeyError(f"no update {update_id} was ever pushed")
        self._items.append(_Queued(json_copy(self._history[update_id]), redelivery=True))
        self._notify()

    def drop_pending(self) -> None:
        """Forget every queued update (drop_pending_updates)."""
        self._items.clear()

    def pending_count(self) -> int:
        """Return how many updates are not yet confirmed."""
        return len(self._items)

    def all_delivered(self) -> bool:
        """Tell whether the bot has fetched every queued update at least once."""
        return all(item.delivered for item in self._items)

    def close(self) -> None:
        """Wake every long poll so the server can stop at once."""
        self.closing = True
        self._notify()

    def _notify(self) -> None:
        """Wake the long polls that wait for updates."""
        self._wake.set()
        self._wake = asyncio.Event()

    def _confirm(self, offset: int) -> None:
        """Drop updates below a positive offset (negative: keep only the last -offset)."""
        if offset < 0:
            self._items = self._items[offset:]
            return
        self._items = [
            item
            for item in self._items
            if item.update_id >= offset or (item.redelivery and not item.delivered)
        ]

    def _take(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        """Hand out up to `limit` unconfirmed updates, marking them delivered."""
        chosen = [
            item
            for item in self._items
            if offset is None
            or offset <= 0
            or item.update_id >= offset
            or (item.redelivery and not item.delivered)
        ][:limit]
        for item in chosen:
            item.delivered = True
        self.handed_out += len(chosen)
        if chosen:
            self.last_delivery = time.monotonic()
        return [json_copy(item.update) for item in chosen]

    async def fetch(self, offset: int | None, limit: int, timeout: float) -> list[dict[str, Any]]:
        """Answer one getUpdates call, long-polling up to `timeout` seconds."""
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll must end with a conflict
        if offset is not None and offset != 0:
            self._confirm(offset)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT)
            updates = self._take(offset, limit)
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0 or self.closing:
                return updates
            wake = self._wake
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except TimeoutError:
                continue
