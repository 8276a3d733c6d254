"""The Zalo channels' raw senders for the broadcast outbox: one reply to one chat, errors mapped.

A Zalo OA user outside the 48-hour reply window, or one Zalo refuses (-230, -232, -213: its own
window or quota), cannot be sent a message now: the row is skipped as out of reach, with the
reason stored, and counted apart in the report. Any other refusal is a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp

from bot.channels.zalo_common import ZaloError
from bot.channels.zalo_oa_state import OutsideWindow
from bot.core.types import Reply
from bot.services.outbox import Failed, OutOfReach, RetryLater

if TYPE_CHECKING:
    from bot.channels.zalo_bot import ZaloBotChannel
    from bot.channels.zalo_oa import ZaloOAChannel


class ZaloOADirect:
    """Send one broadcast message to an OA user, within the reply window only."""

    def __init__(self, channel: ZaloOAChannel) -> None:
        self._channel = channel

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        try:
            await self._channel.send(chat_id, [reply])
        except OutsideWindow as exc:
            raise OutOfReach(exc.reason) from exc
        except ZaloError as exc:
            raise Failed(str(exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater() from exc

    async def close(self) -> None:
        """Nothing to close: the channel owns the HTTP session."""


class ZaloBotDirect:
    """Send one broadcast message to a Zalo Bot chat."""

    def __init__(self, channel: ZaloBotChannel) -> None:
        self._channel = channel

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        try:
            await self._channel.send(chat_id, [reply])
        except ZaloError as exc:
            raise Failed(str(exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater() from exc

    async def close(self) -> None:
        """Nothing to close: the channel owns the HTTP session."""
