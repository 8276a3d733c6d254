"""Secondary indexes: field value -> the ids of the documents holding it.

Most indexed fields are nearly unique (phone, platform id, order code), so an entry holds a bare
int until a second document shares the value, then a tuple while a few do (a buyer's orders, a
listing's orders), and a set only beyond that: a set costs 216 bytes at 2-4 ids and 728 at 5-18,
a tuple 40 + 8 per id, and these small entries were most of the indexes' memory.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from typing import Any

# Bump when `index_keys` or `dump` change: snapshots store index entries written by these rules.
INDEX_VERSION = 2

SMALL = 16  # the most ids an entry holds as a tuple (adding one copies it)
_SCALARS = frozenset({str, int, float, bool, type(None)})
_MISSING = object()

Ids = int | tuple[int, ...] | set[int]


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
        self.entries: dict[Hashable, Ids] = {}

    def build(self, docs: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Index many documents (one tight loop)."""
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
                        entries[key] = (ids, doc_id)
                elif isinstance(ids, tuple):
                    if doc_id not in ids:
                        entries[key] = (*ids, doc_id) if len(ids) < SMALL else {*ids, doc_id}
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
            elif isinstance(ids, tuple):
                if doc_id in ids:
                    rest = tuple(i for i in ids if i != doc_id)
                    entries[key] = rest[0] if len(rest) == 1 else rest
            else:
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
        """The entries as JSON lists: keys with one id, with a few (tuples), with many (sets)."""
        lists: tuple[list[Any], ...] = ([], [], [], [], [], [])
        one_keys, one_ids, few_keys, few_ids, many_keys, many_ids = lists
        for key, value in self.entries.items():
            if isinstance(value, int):
                one_keys.append(key)
                one_ids.append(value)
            elif isinstance(value, tuple):
                few_keys.append(key)
                few_ids.append(value)
            else:
                many_keys.append(key)
                many_ids.append(sorted(value))
        return list(lists)

    @classmethod
    def load(cls, field: str, dumped: list[Any], id_objects: Mapping[int, int]) -> FieldIndex:
        """An index from `dump`'s lists (the open path: dicts built in C, no document read).

        Ids become the int objects in `id_objects` (the table's own keys): decoded afresh,
        the ~3 million ids of a province's indexes would cost 32 bytes each. An id that is
        not there raises KeyError: the index does not match the documents.
        """
        one_keys, one_ids, few_keys, few_ids, many_keys, many_ids = dumped
        same = id_objects.__getitem__
        index = cls(field)
        entries = index.entries = dict(zip(one_keys, map(same, one_ids), strict=True))
        few = [tuple(map(same, ids)) for ids in few_ids]
        entries.update(zip(few_keys, few, strict=True))
        entries.update(zip(many_keys, [set(map(same, ids)) for ids in many_ids], strict=True))
        return index

    def as_sets(self) -> dict[Hashable, set[int]]:
        """The index as plain sets (for checks)."""
        return {k: {v} if isinstance(v, int) else set(v) for k, v in self.entries.items()}

    def clear(self) -> None:
        """Empty the index."""
        self.entries.clear()
