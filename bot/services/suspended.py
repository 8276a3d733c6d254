"""Forms put aside: a user who opens a menu entry in the middle of a form finds it again.

One form per user, kept seven days; resuming it restores its flow, question, answers and
form id (so its confirm step stays idempotent). A separate table, so stored conversations
keep their shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.services.conversations import Conversation
from bot.storage.db import Store

KEEP = timedelta(days=7)


@dataclass
class Suspended:
    """A form put aside, as it was."""

    flow: str
    state: str
    data: dict[str, Any]
    form_id: str
    at: str  # ISO time it was put aside


class SuspendedForms:
    """Stored forms put aside, one per user."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table("suspended_forms", indexes=("user_id",))

    def put(self, conv: Conversation, now: datetime) -> None:
        """Put the user's current form aside (replacing one put aside before)."""
        doc = {
            "user_id": conv.user_id,
            "flow": conv.flow,
            "state": conv.state,
            "data": conv.data,
            "form_id": conv.form_id,
            "at": now.isoformat(),
        }
        existing = self._store.find(self._table, "user_id", conv.user_id)
        if existing:
            self._table.update(doc, doc_ids=[existing[0].doc_id])
        else:
            self._table.insert(doc)

    def get(self, user_id: int, now: datetime) -> Suspended | None:
        """The user's form put aside, if there is one younger than seven days."""
        docs = self._store.find(self._table, "user_id", user_id)
        if not docs:
            return None
        doc = docs[0]
        try:
            at = datetime.fromisoformat(str(doc.get("at", "")))
        except ValueError:
            return None
        if now - at > KEEP:
            return None
        return Suspended(
            str(doc.get("flow", "")),
            str(doc.get("state", "")),
            dict(doc.get("data") or {}),
            str(doc.get("form_id", "")),
            str(doc.get("at", "")),
        )

    def drop(self, user_id: int) -> None:
        """Forget the user's form put aside."""
        ids = [d.doc_id for d in self._store.find(self._table, "user_id", user_id)]
        if ids:
            self._table.remove(doc_ids=ids)
