"""A light rate limiter for replies: Telegram's 30 messages/s overall, and 429s waited out.

python-telegram-bot's AIORateLimiter also tracks per-group limits the bot never needs (it
talks in private chats only) and cost a fifth of the conversation throughput in
bench/conversation.py; this one meters only the calls that post messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# Endpoints that put a message in a chat; the rest (getUpdates, answerCallbackQuery...) are free.
_METERED = ("send", "edit", "copy", "forward")
JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class ReplyRateLimiter(BaseRateLimiter[None]):
    """At most `max_rate` message posts per second; a 429 pauses and retries the call."""

    def __init__(self, max_rate: float = 30.0, max_retries: int = 3) -> None:
        self._limiter = AsyncLimiter(max_rate, 1.0)
        self._max_retries = max_retries
        self._paused_until = 0.0

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
        loop = asyncio.get_running_loop()
        for attempt in range(self._max_retries + 1):
            wait = self._paused_until - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if metered:
                await self._limiter.acquire()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self._max_retries:
                    raise
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
                log.info("Telegram asked to wait %.1f s before %s", seconds, endpoint)
                self._paused_until = max(self._paused_until, loop.time() + seconds)
        raise AssertionError("unreachable")  # the loop returns or raises
