"""What both Zalo channels share: media links, menus as numbered lines, per-user sessions."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.channels.plain import PlainSession
from bot.core.media import DOC_PREFIX, owned_name
from bot.core.notify import Sender
from bot.core.types import Reply
from bot.private_files import write_private
from bot.services.users import UserRepo

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.engine import Engine
    from bot.services.container import Services
    from bot.services.outbox import DirectSender

log = logging.getLogger(__name__)

# Sessions kept in memory (least recently used dropped): a typed digit presses a button of
# the last menu; after a restart or eviction, flows still understand typed numbers and words.
SESSIONS_MAX = 10_000


class ZaloError(Exception):
    """A Zalo API call failed (its JSON said so, or the server could not be reached)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class ZaloChannel:
    """What both Zalo channels set up alike: engine wiring, per-chat state, background events."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine[Services],
        channel: str,
        sender: Sender,
        direct: DirectSender,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.media_dir = settings.data_dir / "media"
        self._sessions = Sessions()
        self._progress = Progress()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        engine.services.notifier.register(channel, sender)
        engine.services.outbox.register(channel, direct)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run an event's handling in the background, kept until it is done."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every accepted event has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class Sessions:
    """The PlainSession of each chat, bounded."""

    def __init__(self, limit: int = SESSIONS_MAX) -> None:
        self._limit = limit
        self._sessions: OrderedDict[str, PlainSession] = OrderedDict()

    def get(self, chat_id: str) -> PlainSession:
        """The chat's session (a new one if none)."""
        session = self._sessions.pop(chat_id, None) or PlainSession()
        self._sessions[chat_id] = session
        while len(self._sessions) > self._limit:
            self._sessions.popitem(last=False)
        return session


class Progress:
    """Messages "updated in place" (edit_key) go out once per chat: Zalo cannot edit them."""

    def __init__(self, limit: int = SESSIONS_MAX) -> None:
        self._limit = limit
        self._shown: OrderedDict[tuple[str, str], None] = OrderedDict()

    def keep(self, chat_id: str, replies: list[Reply]) -> list[Reply]:
        """The replies minus updates of a message this chat was already shown."""
        kept = []
        for reply in replies:
            if reply.edit_key:
                key = (chat_id, reply.edit_key)
                if key in self._shown:
                    continue
                self._shown[key] = None
                while len(self._shown) > self._limit:
                    self._shown.popitem(last=False)
            kept.append(reply)
        return kept


def without_keyboards(reply: Reply) -> Reply:
    """The reply minus Telegram-only keyboards (share contact/location): Zalo users type."""
    return replace(reply, request_contact="", request_location="")


def media_url(ref: str, base_url: str) -> str | None:
    """A URL Zalo can fetch for a photo ref; None for refs of other platforms ("tg:...")."""
    if ref.startswith("media:"):
        return f"{base_url}/media/{ref.removeprefix('media:')}"
    if ref.startswith(("https://", "http://")):
        return ref
    return None


def publish_document(media_dir: Path, base_url: str, name: str, content: bytes, owner: str) -> str:
    """Save a file (e.g. a CSV export) for user `owner` under an unguessable name; return its
    download link. The name carries a tag of the owner, so deleting them deletes the file."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:60] or "file"
    stored = owned_name(DOC_PREFIX, owner, f"{secrets.token_urlsafe(12)}-{safe}")
    write_private(media_dir / stored, content)
    return f"{base_url}/media/{stored}"


def set_following(users: UserRepo, user_key: str, following: bool) -> None:
    """Record a (un)follow: an unfollowed account is unreachable, unless linked to another app."""
    user = users.by_key(user_key)
    if user is None:
        return
    others = [key for key in user.ident if key != user_key]
    if not following and others:
        # One farmer, two apps: keep reaching them on the other one, never block them all.
        if user.last_channel == user_key:
            user.last_channel = others[0]
            users.save(user)
        log.info("user %s unfollowed on %s; reached elsewhere", user.id, user_key.split(":")[0])
        return
    if user.blocked == following:
        user.blocked = not following  # unfollowed: broadcasts and notices skip them
        users.save(user)
        log.info("user %s %s on %s", user.id, "followed" if following else "unfollowed", user_key)
