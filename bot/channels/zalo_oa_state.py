"""Zalo OA state that must survive restarts: the token pair and each user's reply window."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from tinydb.table import Document

from bot.core.notify import Unreachable
from bot.logging_setup import MASK
from bot.private_files import write_private
from bot.storage.db import Store

# After a user's message the OA may reply for free for 48 hours, at most 8 messages; the
# count starts again whenever the user writes.
WINDOW = timedelta(hours=48)
FREE_MESSAGES = 8
TOKEN_TABLE = "zalo_oa_token"
TOKEN_KEY = "oa"  # the one document of TOKEN_TABLE (unique in the database)


@dataclass(frozen=True)
class OAToken:
    """An access token, the single-use refresh token that renews it, and when it expires."""

    access_token: str
    refresh_token: str
    expires_at: float = 0.0  # epoch seconds; 0 when unknown (a configured or older stored pair)


class TokenBook(Protocol):
    """Where the current pair is kept: a file beside the embedded store, or a shared table."""

    def load(self) -> OAToken:
        """The stored pair; the configured one until the first refresh, or once it changes."""
        ...

    def save(self, token: OAToken) -> None:
        """Keep a new pair (the caller commits it before using it)."""
        ...

    def adopt(self) -> None:
        """Bring in a pair an older set-up kept elsewhere (once)."""
        ...


class TokenFile:
    """The current token pair in DATA_DIR, replaced atomically (a refresh token works once)."""

    def __init__(self, path: Path, initial: OAToken) -> None:
        self.path = path
        self._initial = initial
        self._known: OAToken | None = None  # this process is the only one writing the file

    def load(self) -> OAToken:
        """The stored pair; the configured one until the first refresh, or once it changes."""
        if self._known is None:
            self._known = self._read()
        return self._known

    def _read(self) -> OAToken:
        if not self.path.is_file():
            return self._initial
        return _pair_of(json.loads(self.path.read_text(encoding="utf-8")), self._initial)

    def save(self, token: OAToken) -> None:
        """Write the pair durably: 0600 temp file, fsync, rename, fsync the directory."""
        MASK.add(token.access_token, token.refresh_token)  # before anything can log them
        data = json.dumps({**asdict(token), "configured": self._initial.refresh_token})
        write_private(self.path, data.encode(), sync=True)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._known = token

    def adopt(self) -> None:
        """Nothing to bring in: the file is where this pair has always been kept."""


class TokenTable:
    """The current token pair as one document of the shared store (several processes).

    Every process reads the pair from its memory of the table, kept fresh by the store; only
    the holder of the "zalo-oa-token" lock renews it and commits the new pair before using it.
    """

    def __init__(self, store: Store, initial: OAToken, legacy: TokenFile) -> None:
        self._store = store
        self._table = store.table(TOKEN_TABLE, indexes=("key",))
        self._initial = initial
        self._legacy = legacy  # the embedded store's file, moved into the table once

    def _doc(self) -> Document | None:
        found = self._store.find(self._table, "key", TOKEN_KEY)
        return found[0] if found else None

    def load(self) -> OAToken:
        """The stored pair; the configured one until the first refresh, or once it changes."""
        doc = self._doc()
        return self._initial if doc is None else _pair_of(doc, self._initial)

    def save(self, token: OAToken) -> None:
        """Write the pair into the table (the caller commits it)."""
        MASK.add(token.access_token, token.refresh_token)
        record = {"key": TOKEN_KEY, **asdict(token), "configured": self._initial.refresh_token}
        doc = self._doc()
        if doc is None:
            self._table.insert(record)
        else:
            self._table.update(record, doc_ids=[doc.doc_id])

    def adopt(self) -> None:
        """Move the pair DATA_DIR/zalo_oa_token.json holds into the table, if it has none."""
        if self._doc() is None and self._legacy.path.is_file():
            pair = self._legacy.load()
            if pair != self._initial:
                self.save(pair)


def _pair_of(data: Mapping[str, Any], initial: OAToken) -> OAToken:
    """The pair a stored record holds, unless the operator configured a newer one since."""
    if data.get("configured", "") != initial.refresh_token:
        return initial  # the operator configured a new pair since: it is newer
    expires_at = float(data.get("expires_at") or 0.0)
    token = OAToken(str(data["access_token"]), str(data["refresh_token"]), expires_at)
    MASK.add(token.access_token, token.refresh_token)
    return token


class OutsideWindow(Unreachable):
    """The OA may not message this user now (no recent message from them, or quota used)."""

    def __init__(self, user_id: str, reason: str) -> None:
        super().__init__(f"Zalo OA user {user_id} is outside the reply window: {reason}")
        self.user_id = user_id
        self.reason = reason


class WindowBook:
    """When each OA user last wrote, and how many messages the OA sent them since.

    Every message that went counts against the free quota; `replies` counts those that went
    as replies to the user's message (the rest went to the user id: proactive for Zalo).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table("zalo_oa_windows", indexes=("user",))

    def user_wrote(self, user_id: str, at: datetime) -> None:
        """Open a new window: the user just sent something."""
        doc = {"user": user_id, "last_in": at.timestamp(), "sent": 0, "replies": 0, "closed": ""}
        found = self._store.find(self._table, "user", user_id)
        if found:
            self._table.update(doc, doc_ids=[found[0].doc_id])
        else:
            self._table.insert(doc)

    def refusal(self, user_id: str, at: datetime, needed: int = 1) -> str | None:
        """Why `needed` messages to this user may not go now, or None when they may."""
        found = self._store.find(self._table, "user", user_id)
        if not found:
            return "the user never wrote to the OA"
        doc = found[0]
        if doc.get("closed"):
            return str(doc["closed"])
        if at.timestamp() - float(doc.get("last_in", 0)) > WINDOW.total_seconds():
            return "more than 48 hours since the user's last message"
        if int(doc.get("sent", 0)) + needed > FREE_MESSAGES:
            return f"{FREE_MESSAGES} messages already sent since the user's last message"
        return None

    def room(self, user_id: str, at: datetime) -> int:
        """How many more messages may go to this user now."""
        found = self._store.find(self._table, "user", user_id)
        if (
            not found
            or found[0].get("closed")
            or at.timestamp() - float(found[0].get("last_in", 0)) > WINDOW.total_seconds()
        ):
            return 0
        return max(0, FREE_MESSAGES - int(found[0].get("sent", 0)))

    def sent(self, user_id: str, count: int = 1, replies: int = 0) -> None:
        """Count messages sent in the user's window, `replies` of them as replies (one write)."""
        found = self._store.find(self._table, "user", user_id)
        if found:
            doc = found[0]
            total = int(doc.get("sent", 0)) + count
            as_reply = int(doc.get("replies", 0)) + replies
            self._table.update({"sent": total, "replies": as_reply}, doc_ids=[doc.doc_id])

    def counts(self, user_id: str) -> tuple[int, int]:
        """(messages sent, of which as replies) in the user's current window."""
        found = self._store.find(self._table, "user", user_id)
        if not found:
            return 0, 0
        return int(found[0].get("sent", 0)), int(found[0].get("replies", 0))

    def close(self, user_id: str, reason: str) -> None:
        """Zalo refused this user (its window or quota): no more tries until they write."""
        found = self._store.find(self._table, "user", user_id)
        if found:
            self._table.update({"closed": reason}, doc_ids=[found[0].doc_id])

    def forget(self, user_id: str) -> None:
        """Drop what is known of a user's window (data deletion)."""
        ids = [d.doc_id for d in self._store.find(self._table, "user", user_id)]
        if ids:
            self._table.remove(doc_ids=ids)
