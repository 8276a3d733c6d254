"""Secondary indexes: field value -> the ids of the documents holding it.

Most indexed fields are nearly unique (phone, platform id, order code), so an entry holds a bare
int until a second document shares the value, and only then a set: a set per document would
cost ~200 bytes each and most of the time spent building indexes on open.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from typing import Any

# Bump when `index_keys` changes meaning: snapshots store index entries, written by this rule.
INDEX_VERSION = 1

_SCALARS = frozenset({str, int, float, bool, type(None)})
_MISSING = object()


def index_keys(value: Any) -> Collection[Hashable]:
    """Index entries of a JSON field value: the value itself, or each scalar in a list."""
    kind = type(value)
    if kind in _SCALARS:
        return (value,)
    if kind is list:
        return {item for item in value if type(item) in _SCALARS}
    return ()


class FieldIndex:
    """The index of one field of one table."""

    __slots__ = ("entries", "field")

    def __init__(self, field: str) -> None:
        self.field = field
        self.entries: dict[Hashable, int | set[int]] = {}

    def build(self, docs: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Index many documents (the open path: one tight loop)."""
        field, entries = self.field, self.entries
        get = entries.get
        for doc_id, doc in docs:
            value = doc.get(field, _MISSING)
            if value is _MISSING:
                continue
            keys = (value,) if type(value) in _SCALARS else index_keys(value)
            for key in keys:
                ids = get(key)
                if ids is None:
                    entries[key] = doc_id
                elif isinstance(ids, int):
                    if ids != doc_id:
                        entries[key] = {ids, doc_id}
                else:
                    ids.add(doc_id)

    def add(self, doc_id: int, doc: dict[str, Any]) -> None:
        """Index one document."""
        self.build(((doc_id, doc),))

    def drop(self, doc_id: int, doc: dict[str, Any]) -> None:
        """Forget one document as it was stored."""
        if self.field not in doc:
            return
        entries = self.entries
        for key in index_keys(doc[self.field]):
            ids = entries.get(key)
            if ids is None:
                continue
            if isinstance(ids, int):
                if ids == doc_id:
                    del entries[key]
                continue
            ids.discard(doc_id)
            if len(ids) == 1:
                entries[key] = next(iter(ids))

    def ids(self, key: Hashable) -> Collection[int]:
        """Ids of the documents whose field equals or contains `key`."""
        ids = self.entries.get(key)
        if ids is None:
            return ()
        return (ids,) if isinstance(ids, int) else ids

    def dump(self) -> list[Any]:
        """The entries as JSON lists: [single keys, their ids, shared keys, their id lists]."""
        keys: list[Hashable] = []
        ids: list[int] = []
        shared_keys: list[Hashable] = []
        shared_ids: list[list[int]] = []
        for key, value in self.entries.items():
            if type(value) is int:
                keys.append(key)
                ids.append(value)
            else:
                shared_keys.append(key)
                shared_ids.append(sorted(value))  # type: ignore[arg-type]
        return [keys, ids, shared_keys, shared_ids]

    @classmethod
    def load(cls, field: str, dumped: list[Any]) -> FieldIndex:
        """An index from `dump`'s lists (the open path: dict building in C, no document read)."""
        keys, ids, shared_keys, shared_ids = dumped
        if len(keys) != len(ids) or len(shared_keys) != len(shared_ids):
            raise ValueError(f"index {field!r}: keys and ids differ in length")
        index = cls(field)
        index.entries = dict(zip(keys, ids, strict=True))
        index.entries.update(zip(shared_keys, map(set, shared_ids), strict=True))
        return index

    def as_sets(self) -> dict[Hashable, set[int]]:
        """The index as plain sets (for checks)."""
        return {k: {v} if isinstance(v, int) else set(v) for k, v in self.entries.items()}

    def clear(self) -> None:
        """Empty the index."""
        self.entries.clear()
