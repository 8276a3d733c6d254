"""Tombstones: who deleted their data, so that restoring a backup never brings them back.

A tombstone holds the deleted user's id, their platform keys ("telegram:123") and when they
left: nothing that names them. They stay in the store, so every later backup carries them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.services.users import User
from bot.storage.db import Store

TABLE = "tombstones"


@dataclass(frozen=True)
class Tombstone:
    """A deleted user: their id, their platform keys and the moment of deletion."""

    user_id: int
    keys: tuple[str, ...] = field(default_factory=tuple)
    at: str = ""  # ISO moment

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Tombstone:
        """Build from a stored document (a backup's or this store's)."""
        keys = doc.get("keys") or ()
        return cls(int(doc.get("user_id", 0)), tuple(str(k) for k in keys), str(doc.get("at", "")))

    def doc(self) -> dict[str, Any]:
        """The stored document."""
        return {"user_id": self.user_id, "keys": list(self.keys), "at": self.at}

    def covers(self, user: User) -> bool:
        """Whether `user` is the person this tombstone deleted.

        Same id or a shared platform key, and created no later than the deletion: someone who
        signed up again afterwards from the same account is a new person, and stays.
        """
        if user.id != self.user_id and not set(user.ident) & set(self.keys):
            return False
        if not user.created_at or not self.at:
            return True
        return _moment(user.created_at) <= _moment(self.at)


def _moment(iso: str) -> datetime:
    """An ISO moment as an aware datetime (UTC when it says no zone; the past if unreadable)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TombstoneRepo:
    """The tombstones of this store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table(TABLE, indexes=("user_id", "purged"))

    def add(self, user: User, at: str) -> Tombstone:
        """Record that a user deleted their data (durably, before their data goes)."""
        stone = Tombstone(user.id, tuple(user.ident), at)
        self._table.insert({**stone.doc(), "purged": False})
        return stone

    def all(self) -> list[Tombstone]:
        """Every tombstone, oldest first."""
        return [Tombstone.from_doc(d) for d in self._table.all()]

    def merge(self, stones: Iterable[Tombstone]) -> list[Tombstone]:
        """Add tombstones from elsewhere (a newer backup) this store lacks; return those added."""
        known = set(self.all())
        added = [s for s in dict.fromkeys(stones) if s not in known]
        if added:
            self._table.insert_multiple({**s.doc(), "purged": False} for s in added)
        return added

    def unpurged(self) -> list[int]:
        """Tombstones whose person may still sit in older store files (not compacted since)."""
        return self._store.find_ids(self._table, {"purged": False})

    def mark_purged(self, ids: list[int]) -> None:
        """Record that a compaction started after these deletions has rewritten the files."""
        if ids:
            self._table.update({"purged": True}, doc_ids=ids)
