"""Messages to users other than the one being answered: order alerts, relays, broadcasts.

Each channel registers a sender; a notification goes to the channel the user wrote from last,
rendered in the recipient's own language.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.core.types import Reply
from bot.i18n import use_locale

if TYPE_CHECKING:
    from bot.services.users import User

log = logging.getLogger(__name__)

# A channel's sender: (platform chat id, replies) -> None; raises on failure.
Sender = Callable[[str, list[Reply]], Awaitable[None]]


class Notifier:
    """Routes messages for a user to the right channel."""

    def __init__(self, before_send: Callable[[], Awaitable[None]] | None = None) -> None:
        self._senders: dict[str, Sender] = {}
        # Makes the changes a notification tells of durable first (the store's flush).
        self._before_send = before_send

    def register(self, channel: str, sender: Sender) -> None:
        """Let `channel` deliver notifications to its users."""
        self._senders[channel] = sender

    def channels(self) -> list[str]:
        """Channels that can deliver."""
        return list(self._senders)

    def route(self, user: User) -> tuple[str, str] | None:
        """(channel, platform id) a notification to `user` should use, if any."""
        keys = [user.last_channel, *user.ident]
        for key in keys:
            channel, _, platform_id = key.partition(":")
            if channel in self._senders and key in user.ident:
                return channel, platform_id
        return None

    async def notify(self, user: User, build: Callable[[], list[Reply]]) -> bool:
        """Send what `build` makes (called in the user's language); False if it could not go."""
        route = self.route(user)
        if route is None or user.blocked:
            log.info("no way to reach user %s now", user.id)
            return False
        with use_locale(user.lang):
            replies = build()
        try:
            if self._before_send is not None:
                await self._before_send()
            await self._senders[route[0]](route[1], replies)
        except Exception:
            log.exception("notifying user %s on %s failed", user.id, route[0])
            return False
        return True
