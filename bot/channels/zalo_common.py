"""What both Zalo channels share: media links, menus as numbered lines kept per chat."""

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
from tinydb.table import Document

from bot.channels.plain import PlainSession
from bot.core.media import DOC_PREFIX, owned_name
from bot.core.notify import Sender
from bot.core.types import Button, Incoming, Reply
from bot.private_files import write_private
from bot.services.users import UserRepo
from bot.storage.db import Store
from bot.storage.errors import StoreConflict, StoreError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.engine import Engine
    from bot.services.container import Services
    from bot.services.outbox import DirectSender

log = logging.getLogger(__name__)

# Progress messages remembered per process (least recently used dropped).
PROGRESS_MAX = 10_000
MENUS = "plain_menus"  # the buttons each chat was shown last, by user key


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
        self.media_dir = settings.media_dir
        self.menus = Menus(engine.services.store, channel)
        self._progress = Progress()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        engine.services.deletion_hooks.append(lambda user: self.menus.forget(user.ident))
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


class Menus:
    """The last buttons each chat was shown, in the store: a typed number presses one of them.

    Kept as documents (one per chat) so that, with several processes, the process that gets
    the typed "2" knows the menu another process sent, and a restart forgets nothing.
    """

    def __init__(self, store: Store, channel: str) -> None:
        self._store = store
        self._table = store.table(MENUS, indexes=("chat",))
        self._channel = channel

    def _doc(self, key: str) -> Document | None:
        found = self._store.find(self._table, "chat", key)
        return found[0] if found else None

    def _session(self, chat_id: str) -> PlainSession:
        doc = self._doc(f"{self._channel}:{chat_id}")
        shown = doc.get("buttons", []) if doc is not None else []
        return PlainSession([Button(str(label), str(payload)) for label, payload in shown])

    def press(self, chat_id: str, msg: Incoming) -> Incoming:
        """A typed digit as a press of that button of the chat's last menu; else `msg`."""
        return self._session(chat_id).press(msg)

    async def show(self, chat_id: str, replies: list[Reply]) -> list[str]:
        """The replies as plain texts (numbered buttons); remembers their buttons for the chat."""
        session = PlainSession()
        texts = session.render(replies)
        shown = [[b.label, b.payload] for b in session.buttons]
        key = f"{self._channel}:{chat_id}"
        doc = self._doc(key)
        if not shown or (doc is not None and doc.get("buttons") == shown):
            return texts  # no new menu: the last one still answers typed numbers
        try:
            async with self._store.committed():  # there before the person can type a number
                if doc is None:
                    self._table.insert({"chat": key, "buttons": shown})
                else:
                    self._table.update({"buttons": shown}, doc_ids=[doc.doc_id])
        except StoreConflict:  # another process showed this chat a menu at the same moment
            log.info("menu for %s: another process's menu stands", key)
        except StoreError as exc:  # the message still goes; typed words still work
            log.warning("could not remember the menu for %s: %s", key, exc)
        return texts

    def forget(self, user_keys: list[str]) -> None:
        """Drop the menus of these chats (the person deleted their data)."""
        ids = [d.doc_id for key in user_keys for d in self._store.find(self._table, "chat", key)]
        if ids:
            self._table.remove(doc_ids=ids)


class Progress:
    """Messages "updated in place" (edit_key) go out once per chat: Zalo cannot edit them."""

    def __init__(self, limit: int = PROGRESS_MAX) -> None:
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
