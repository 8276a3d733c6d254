"""Where each user is in a flow, and the answers so far; plus updates already handled."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bot.core.model import Conversation
from bot.storage.db import Store
from bot.storage.table import LogTable

__all__ = ["Conversation", "ConversationRepo", "SeenUpdates", "Welcomes"]


class ConversationRepo:
    """Stored conversations, one per user."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table("conversations", indexes=("user_id",))

    def get(self, user_id: int) -> Conversation:
        """The user's conversation (at the menu if none was stored)."""
        docs = self._store.find(self._table, "user_id", user_id)
        if not docs:
            return Conversation(user_id=user_id)
        return _conversation(docs[0], user_id)

    def save(self, conv: Conversation) -> None:
        """Write the conversation durably (before the reply goes out)."""
        doc = _doc(conv)
        existing = self._store.find(self._table, "user_id", conv.user_id)
        if not conv.flow and not conv.tries:
            # At the menu with nothing pending: the same as no conversation stored.
            if existing:
                self._table.remove(doc_ids=[d.doc_id for d in existing])
            return
        if existing:
            if {k: existing[0].get(k) for k in doc} != doc:
                self._table.update(doc, doc_ids=[existing[0].doc_id])
        else:
            self._table.insert(doc)

    def delete(self, user_id: int) -> None:
        """Forget a user's conversation."""
        ids = [d.doc_id for d in self._store.find(self._table, "user_id", user_id)]
        if ids:
            self._table.remove(doc_ids=ids)


def _conversation(doc: dict[str, Any], user_id: int) -> Conversation:
    return Conversation(
        user_id=user_id,
        flow=doc.get("flow", ""),
        state=doc.get("state", ""),
        data=dict(doc.get("data", {})),
        tries=int(doc.get("tries", 0)),
        form_id=doc.get("form_id", ""),
    )


def _doc(conv: Conversation) -> dict[str, Any]:
    return {
        "user_id": conv.user_id,
        "flow": conv.flow,
        "state": conv.state,
        "data": conv.data,
        "tries": conv.tries,
        "form_id": conv.form_id,
    }


SECONDS_PER_DAY = 86_400
# Platforms stop redelivering within a day (Telegram keeps updates 24 h); two days is safe.
SEEN_KEEP_DAYS = 2
# Newcomers greeted but not answered yet, kept in memory (lost on restart: they are greeted
# again). Their record is made when they answer, so page views and floods leave nothing on disk.
WELCOME_MEMORY = 10_000


class Welcomes:
    """The first question asked of people never seen, who have no user record until they answer.

    Kept in memory (an anonymous flood must not fill the disk); on a shared store also in a
    table, since the answer may reach another process. Its rows are pruned after two days.
    """

    def __init__(self, store: Store, memory: int = WELCOME_MEMORY) -> None:
        self._store = store
        self._recent: OrderedDict[str, Conversation] = OrderedDict()
        self._memory = memory
        self._table = store.table("welcomes", indexes=("key", "day")) if store.shared else None

    def take(self, user_key: str) -> Conversation | None:
        """The conversation of the welcome this person was given, forgotten now; None if none."""
        conv = self._recent.pop(user_key, None)
        if self._table is not None:
            docs = self._store.find(self._table, "key", user_key)
            if docs:
                self._table.remove(doc_ids=[d.doc_id for d in docs])
                conv = conv or _conversation(dict(docs[0]), 0)
        return conv

    def keep(self, user_key: str, conv: Conversation, at: float) -> None:
        """Remember the welcome's conversation until they answer."""
        self._recent[user_key] = conv
        self._recent.move_to_end(user_key)
        while len(self._recent) > self._memory:
            self._recent.popitem(last=False)
        if self._table is not None:
            old = [d.doc_id for d in self._store.find(self._table, "key", user_key)]
            if old:
                self._table.remove(doc_ids=old)
            day = int(at // SECONDS_PER_DAY)
            self._table.insert({**_doc(conv), "key": user_key, "day": day})

    def prune(self, now: float) -> int:
        """Forget welcomes older than two days (a job, with the handled updates)."""
        if self._table is None:
            return 0
        return _prune_days(self._store, self._table, now, SEEN_KEEP_DAYS)


class SeenUpdates:
    """Platform update ids already handled, so a redelivered update changes nothing."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table("seen_updates", indexes=("key", "day"))

    def seen(self, key: str) -> bool:
        """Whether this update was handled before."""
        return bool(self._store.find_ids(self._table, {"key": key}))

    def mark(self, key: str, at: float) -> None:
        """Remember that this update was handled."""
        self._table.insert({"key": key, "at": at, "day": int(at // SECONDS_PER_DAY)})

    def prune(self, now: float, keep_days: int = SEEN_KEEP_DAYS) -> int:
        """Forget updates older than `keep_days`, a day at a time through the day index."""
        return _prune_days(self._store, self._table, now, keep_days)

    async def pruner(
        self, now: Callable[[], float], welcomes: Welcomes, every: float = 3600.0
    ) -> None:
        """A job: prune handled updates and old welcomes once an hour."""
        while True:
            self.prune(now())
            welcomes.prune(now())
            await asyncio.sleep(every)


def _prune_days(store: Store, table: LogTable, now: float, keep_days: int) -> int:
    """Remove documents whose "day" is older than `keep_days`, a day at a time (day index)."""
    today = int(now // SECONDS_PER_DAY)
    removed = 0
    for day in range(today - keep_days - 30, today - keep_days):
        ids = store.find_ids(table, {"day": day})
        if ids:
            table.remove(doc_ids=ids)
            removed += len(ids)
    return removed
