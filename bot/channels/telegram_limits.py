"""Replies within Telegram's 30 messages/s, sharing one window with broadcasts; 429s waited out.

python-telegram-bot's AIORateLimiter also tracks per-group limits the bot never needs (it
talks in private chats only) and cost a fifth of the conversation throughput in
bench/conversation.py; this one meters only the calls that post messages, through the
outbox's pacer: a reply takes a slot in the same 1-second window the broadcasts use, ahead of
them, so replies and broadcasts together stay within the limit and a broadcast can use all
the room replies leave. With several processes on one database, a reply also takes its turn
in the channel's send budget shared by all of them (bot/storage/budget.py), as broadcast
sends do, so the processes' replies and broadcasts together stay within the limit; a 429
pauses that budget for everyone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.services.pacer import Pacer
from bot.storage.budget import RateBudget, Unmetered
from bot.storage.errors import StoreError

log = logging.getLogger(__name__)

# Endpoints that put a message in a chat; the rest (getUpdates, answerCallbackQuery...) are free.
_METERED = ("send", "edit", "copy", "forward")
JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class ReplyRateLimiter(BaseRateLimiter[None]):
    """Message posts take a slot of `pacer`; a 429 pauses everything and retries the call."""

    def __init__(
        self, pacer: Pacer, budget: RateBudget | None = None, max_retries: int = 3
    ) -> None:
        self._pacer = pacer
        self._budget = budget or Unmetered()
        self._max_retries = max_retries
        self._unreachable = False  # the budget failed last time (warned once, not per reply)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSONResult:
        """Run one Bot API call within the rate, retrying after a flood wait."""
        metered = endpoint.lower().startswith(_METERED)
        for attempt in range(self._max_retries + 1):
            if not metered:
                return await callback(*args, **kwargs)
            slot = await self._pacer.acquire_reply()
            try:
                await self._turn()
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self._max_retries:
                    raise
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
                log.info("Telegram asked to wait %.1f s before %s", seconds, endpoint)
                self._pacer.pause(seconds)
                with contextlib.suppress(StoreError):
                    await self._budget.pause(seconds)
            finally:
                self._pacer.release(slot, counted=True)  # refused or failed: counted, to be safe
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _turn(self) -> None:
        """The reply's turn in the shared budget; without the database, this process's pacer."""
        try:
            await self._budget.turn()
        except StoreError:
            if not self._unreachable:
                log.warning("the shared send budget is unreachable; replying on local pacing")
            self._unreachable = True
        else:
            if self._unreachable:
                log.info("the shared send budget is reachable again")
            self._unreachable = False
