"""Telegram's raw sender for the broadcast outbox: one call per message, errors mapped.

It has its own `telegram.Bot` without PTB's AIORateLimiter: the outbox paces itself and
must see every 429 (to pause everything for `retry_after`) instead of PTB sleeping inside
the call. Ordinary replies keep going through the channel's rate-limited bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.core.types import Reply
from bot.services.outbox import Blocked, Failed, RetryLater

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label[:120], callback_data=b.payload) for b in row]
            for row in reply.buttons
        ]
    )


class TelegramDirect:
    """Send one broadcast message to one chat; raise Blocked, RetryLater or Failed."""

    def __init__(self, settings: Settings, photo: Callable[[str], Any], pool: int = 32) -> None:
        self._settings = settings
        self._photo = photo
        self._pool = pool
        self._bot: Bot | None = None
        self._lock = asyncio.Lock()
        # A photo uploaded from our disk once is sent by its Telegram file_id afterwards.
        self._file_ids: dict[str, str] = {}

    async def _ready(self) -> Bot:
        async with self._lock:
            if self._bot is None:
                base = self._settings.telegram_api_base_url
                bot = Bot(
                    self._settings.telegram_token,
                    base_url=base,
                    base_file_url=base.replace("/bot", "/file/bot"),
                    request=HTTPXRequest(connection_pool_size=self._pool),
                )
                await bot.initialize()
                self._bot = bot
            return self._bot

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        """Deliver `reply` as a single message (a captioned photo, or text)."""
        try:
            bot = await self._ready()
            await self._send(bot, int(chat_id), reply)
        except RetryAfter as exc:
            # The timedelta PTB keeps (as its own AIORateLimiter reads it): the public int
            # attribute warns of a coming type change.
            raise RetryLater(exc._retry_after.total_seconds()) from exc
        except Forbidden as exc:
            raise Blocked(str(exc)) from exc
        except BadRequest as exc:  # a subclass of NetworkError in PTB: check it first
            raise Failed(str(exc)) from exc
        except NetworkError as exc:  # includes TimedOut: the outcome is unknown, so retry
            raise RetryLater(None) from exc
        except TelegramError as exc:
            raise Failed(str(exc)) from exc

    async def _send(self, bot: Bot, chat: int, reply: Reply) -> None:
        markup = _markup(reply)
        if reply.photos:
            ref = reply.photos[0]
            sent: Message = await bot.send_photo(
                chat,
                self._file_ids.get(ref) or self._photo(ref),
                caption=reply.text[:CAPTION_LIMIT],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
            if ref not in self._file_ids and sent.photo:
                self._file_ids[ref] = sent.photo[-1].file_id
            return
        await bot.send_message(
            chat, reply.text[:TEXT_LIMIT], parse_mode=ParseMode.HTML, reply_markup=markup
        )

    async def close(self) -> None:
        """Close the HTTP connections (a later send opens them again)."""
        async with self._lock:
            if self._bot is not None:
                bot, self._bot = self._bot, None
                try:
                    await bot.shutdown()
                except TelegramError:
                    log.info("broadcast bot shutdown failed", exc_info=True)
