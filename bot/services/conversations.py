"""Where each user is in a flow, and the answers so far; plus updates already handled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.core.model import Conversation
from bot.storage.db import Store

__all__ = ["Conversation", "ConversationRepo", "SeenUpdates"]


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
        doc = docs[0]
        return Conversation(
            user_id=user_id,
            flow=doc.get("flow", ""),
            state=doc.get("state", ""),
            data=dict(doc.get("data", {})),
            tries=int(doc.get("tries", 0)),
            form_id=doc.get("form_id", ""),
        )

    def save(self, conv: Conversation) -> None:
        """Write the conversation durably (before the reply goes out)."""
        doc = {
            "user_id": conv.user_id,
            "flow": conv.flow,
            "state": conv.state,
            "data": conv.data,
            "tries": conv.tries,
            "form_id": conv.form_id,
        }
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


SECONDS_PER_DAY = 86_400
# Platforms stop redelivering within a day (Telegram keeps updates 24 h); two days is safe.
SEEN_KEEP_DAYS = 2


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
        today = int(now // SECONDS_PER_DAY)
        removed = 0
        for day in range(today - keep_days - 30, today - keep_days):
            ids = self._store.find_ids(self._table, {"day": day})
            if ids:
                self._table.remove(doc_ids=ids)
                removed += len(ids)
        return removed

    async def pruner(self, now: Callable[[], float], every: float = 3600.0) -> None:
        """A job: prune once an hour."""
        while True:
            self.prune(now())
            await asyncio.sleep(every)
