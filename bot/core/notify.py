"""Messages to users other than the one being answered: order alerts, relays, broadcasts.

Each channel registers a sender; a notification goes to the channel the user wrote from last,
rendered in the recipient's own language. When that platform will not deliver to the user now
(Zalo OA outside its reply window or quota), the user's other linked channels are tried in turn.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.address import address_of
from bot.core.model import User
from bot.core.types import Reply
from bot.i18n import use_locale
from bot.storage.errors import StoreConflict

log = logging.getLogger(__name__)

# A channel's sender: (platform chat id, replies) -> None; raises on failure.
Sender = Callable[[str, list[Reply]], Awaitable[None]]

# What became of a notification.
SENT = "sent"
OUT_OF_REACH = "out_of_reach"  # every route's platform refused to deliver to the user now
FAILED = "failed"  # no route, a blocked user, or an error (worth trying again later)


class Unreachable(Exception):
    """A sender's platform will not deliver to this user now (not an error of ours)."""


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

    def routes(self, user: User) -> list[tuple[str, str]]:
        """(channel, platform id) pairs to reach `user` by, the channel they used last first."""
        found: list[tuple[str, str]] = []
        for key in [user.last_channel, *user.ident]:
            channel, _, platform_id = key.partition(":")
            route = (channel, platform_id)
            if channel in self._senders and key in user.ident and route not in found:
                found.append(route)
        return found

    async def notify(self, user: User, build: Callable[[], list[Reply]]) -> bool:
        """Send what `build` makes (called in the user's language); False if it could not go."""
        return await self.deliver(user, build) == SENT

    async def deliver(self, user: User, build: Callable[[], list[Reply]]) -> str:
        """Send what `build` makes on the first route that takes it: SENT, OUT_OF_REACH, FAILED."""
        routes = self.routes(user)
        if not routes or user.blocked:
            log.info("no way to reach user %s now", user.id)
            return FAILED
        with use_locale(user.lang, address_of(user)):
            replies = build()
        if self._before_send is not None:
            try:
                await self._before_send()
            except StoreConflict:
                raise  # the change this tells of was refused: the update is handled again
            except Exception:
                log.exception("notifying user %s: could not save first", user.id)
                return FAILED
        for channel, platform_id in routes:
            try:
                await self._senders[channel](platform_id, replies)
            except Unreachable as exc:
                log.info("user %s is out of reach on %s: %s", user.id, channel, exc)
                continue  # the platform's rules, not a fault: try their other app
            except Exception:
                log.exception("notifying user %s on %s failed", user.id, channel)
                return FAILED
            return SENT
        return OUT_OF_REACH
