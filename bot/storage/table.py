"""A TinyDB Table kept in memory whose writes append one record to the log, never the table.

Stock `Table._update_table` reads and rewrites the whole table on every write; here each write
encodes only the documents it changes, hands one line to the log (fsync'd), and only then
applies the change to memory and to the secondary indexes, so a failed write changes nothing.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
)
from typing import Any, Protocol

from tinydb.queries import QueryLike
from tinydb.storages import Storage
from tinydb.table import Document, Table

from bot.storage.codec import dumps, loads
from bot.storage.index import FieldIndex

Doc = dict[str, Any]
Fields = Mapping[str, Any] | Callable[[MutableMapping[str, Any]], None]


class Committer(Protocol):
    """Where a table sends its encoded records."""

    def commit(self, payload: bytes) -> None:
        """Make one record durable or raise StoreError."""


def clone(doc: Doc, doc_id: int) -> Document:
    """A Document callers may mutate freely (nested lists and dicts included)."""
    out = Document.__new__(Document)  # skips Document.__init__'s second copy
    dict.update(out, doc)
    out.doc_id = doc_id
    for key, value in doc.items():
        if type(value) is list or type(value) is dict:
            out[key] = _deep(value)
    return out


def _deep(value: Any) -> Any:
    if type(value) is dict:
        return {k: _deep(v) for k, v in value.items()}
    if type(value) is list:
        return [_deep(v) for v in value]
    return value


def field_matches(field_value: Any, value: Any) -> bool:
    """Equality, or membership when the stored field is a list."""
    if isinstance(field_value, list) and not isinstance(value, list):
        return value in field_value
    return bool(field_value == value)


class LogTable(Table):
    """In-memory documents, secondary indexes, and log records per write."""

    def __init__(self, storage: Storage, name: str, committer: Committer) -> None:
        super().__init__(storage, name)
        self._docs: dict[int, Doc] = {}
        self._next = 1
        self._committer = committer
        self._name_json = dumps(name)
        self._indexes: dict[str, FieldIndex] = {}

    # --- indexes -------------------------------------------------------------------------

    @property
    def indexed_fields(self) -> tuple[str, ...]:
        """Fields with a secondary index."""
        return tuple(self._indexes)

    def add_indexes(self, fields: Iterable[str]) -> None:
        """Declare indexed fields, building any new index from the documents in memory."""
        for field in fields:
            if field not in self._indexes:
                index = FieldIndex(field)
                index.build(self._docs.items())
                self._indexes[field] = index

    def index_sets(self, field: str) -> dict[Hashable, set[int]]:
        """One index as value -> set of ids (for consistency checks)."""
        return self._indexes[field].as_sets()

    def find(self, field: str, value: Any) -> list[Document]:
        """Documents whose `field` equals `value` or, for a list field, contains it."""
        return self.find_where({field: value})

    def find_where(self, conditions: Mapping[str, Any]) -> list[Document]:
        """Documents meeting every field condition of `find`, intersecting indexes first."""
        return [clone(self._docs[i], i) for i in self._match_ids(conditions)]

    def count_where(self, conditions: Mapping[str, Any]) -> int:
        """How many documents `find_where` would return, without copying them."""
        return len(self._match_ids(conditions))

    def find_ids(self, conditions: Mapping[str, Any]) -> list[int]:
        """Ids of the documents `find_where` would return, ascending: page, then `get`."""
        return self._match_ids(conditions)

    def _match_ids(self, conditions: Mapping[str, Any]) -> list[int]:
        sets: list[Collection[int]] = []
        rest: list[tuple[str, Any]] = []
        for field, value in conditions.items():
            index = self._indexes.get(field)
            if index is None or not isinstance(value, Hashable) or isinstance(value, list):
                rest.append((field, value))
            else:
                sets.append(index.ids(value))
        if sets:
            sets.sort(key=len)
            found = set(sets[0])
            for other in sets[1:]:  # set & set walks the smaller one, in C
                found &= other if isinstance(other, set) else set(other)
            candidates: Iterable[int] = sorted(found)
        else:
            candidates = self._docs
        docs = self._docs
        ids = list(candidates)
        for field, value in rest:  # one comprehension per condition: no per-document generator
            ids = [i for i in ids if field in docs[i] and field_matches(docs[i][field], value)]
        return ids

    def _index_add(self, doc_id: int, doc: Doc) -> None:
        for index in self._indexes.values():
            index.add(doc_id, doc)

    def _index_drop(self, doc_id: int, doc: Doc) -> None:
        for index in self._indexes.values():
            index.drop(doc_id, doc)

    # --- applying records (live writes and replay) ---------------------------------------

    def apply(self, op: str, data: Any) -> None:
        """Apply one decoded log record to memory and indexes."""
        if op == "s":
            self._apply_set({int(k): v for k, v in data.items()})
        elif op == "r":
            self._apply_remove(data)
        elif op == "x":
            self._apply_truncate()
        elif op == "n":
            self._next = max(self._next, int(data))
        else:
            raise ValueError(f"unknown record {op!r}")

    def _apply_set(self, docs: dict[int, Doc]) -> None:
        for doc_id, doc in docs.items():
            old = self._docs.get(doc_id)
            if old is not None:
                self._index_drop(doc_id, old)
            self._docs[doc_id] = doc
            self._index_add(doc_id, doc)
            if doc_id >= self._next:
                self._next = doc_id + 1

    def _apply_remove(self, doc_ids: Iterable[int]) -> None:
        for doc_id in doc_ids:
            old = self._docs.pop(doc_id, None)
            if old is not None:
                self._index_drop(doc_id, old)

    def _apply_truncate(self) -> None:
        self._docs.clear()
        for index in self._indexes.values():
            index.clear()

    def frozen(self) -> tuple[int, dict[int, Doc]]:
        """Next id and a shallow copy of the documents: stored documents are never mutated."""
        return self._next, dict(self._docs)

    # --- writes --------------------------------------------------------------------------

    def _write_set(self, changed: dict[int, Doc]) -> None:
        """Log then apply new versions of some documents (all or none)."""
        if not changed:
            return
        encoded = {doc_id: dumps(doc) for doc_id, doc in changed.items()}
        body = b",".join(b'"%d":%s' % (doc_id, text) for doc_id, text in encoded.items())
        self._committer.commit(b'[%s,"s",{%s}]' % (self._name_json, body))
        # Memory gets what a reopen would read: no aliasing with the caller's objects.
        self._apply_set({doc_id: loads(text) for doc_id, text in encoded.items()})

    def _write_remove(self, doc_ids: list[int]) -> None:
        if doc_ids:
            self._committer.commit(b'[%s,"r",%s]' % (self._name_json, dumps(doc_ids)))
            self._apply_remove(doc_ids)

    def _explicit_id(self, document: Document, taken: Mapping[int, Doc]) -> int:
        doc_id = int(document.doc_id)
        if doc_id in self._docs or doc_id in taken:
            raise ValueError(f"Document with ID {doc_id} already exists")
        return doc_id

    def insert(self, document: Mapping[str, Any]) -> int:
        """Insert one document and return its id."""
        return self.insert_multiple([document])[0]

    def insert_multiple(self, documents: Iterable[Mapping[str, Any]]) -> list[int]:
        """Insert documents in one durable record and return their ids."""
        batch: dict[int, Doc] = {}
        next_id = self._next
        for document in documents:
            if not isinstance(document, Mapping):
                raise ValueError("Document is not a Mapping")
            if isinstance(document, Document):
                doc_id = self._explicit_id(document, batch)
            else:
                doc_id = next_id
            next_id = max(next_id, doc_id + 1)
            batch[doc_id] = dict(document)
        self._write_set(batch)
        return list(batch)

    def update(
        self,
        fields: Fields,
        cond: QueryLike | None = None,
        doc_ids: Iterable[int] | None = None,
    ) -> list[int]:
        """Update matching documents (by ids, by condition, or all); return their ids."""
        if doc_ids is not None:
            ids = [i for i in dict.fromkeys(doc_ids) if i in self._docs]
        elif cond is not None:
            ids = [i for i, d in self._docs.items() if cond(d)]
        else:
            ids = list(self._docs)
        self._write_set({i: _updated(self._docs[i], fields) for i in ids})
        return ids

    def update_multiple(self, updates: Iterable[tuple[Fields, QueryLike]]) -> list[int]:
        """Apply each (fields, condition) pair to the documents it matches, in one record."""
        pairs = list(updates)
        changed: dict[int, Doc] = {}
        ids: list[int] = []
        for doc_id, doc in self._docs.items():
            new = doc
            for fields, cond in pairs:
                if cond(new):
                    new = _updated(new, fields)
                    ids.append(doc_id)
            if new is not doc:
                changed[doc_id] = new
        self._write_set(changed)
        return ids

    def remove(
        self, cond: QueryLike | None = None, doc_ids: Iterable[int] | None = None
    ) -> list[int]:
        """Remove documents by ids or by condition; return the ids removed."""
        if doc_ids is not None:
            ids = [i for i in dict.fromkeys(doc_ids) if i in self._docs]
        elif cond is not None:
            ids = [i for i, d in self._docs.items() if cond(d)]
        else:
            raise RuntimeError("Use truncate() to remove all documents")
        self._write_remove(ids)
        return ids

    def truncate(self) -> None:
        """Remove every document (ids keep counting up, so old ids are never reused)."""
        self._committer.commit(b'[%s,"x",null]' % self._name_json)
        self._apply_truncate()

    # --- reads ---------------------------------------------------------------------------

    def get(  # type: ignore[override]
        self,
        cond: QueryLike | None = None,
        doc_id: int | None = None,
        doc_ids: list[int] | None = None,
    ) -> Document | list[Document] | None:
        """One document by id or condition, or the documents of several ids."""
        if doc_id is not None:
            doc = self._docs.get(int(doc_id))
            return None if doc is None else clone(doc, int(doc_id))
        if doc_ids is not None:
            docs = self._docs
            return [clone(docs[i], i) for i in dict.fromkeys(doc_ids) if i in docs]
        if cond is not None:
            for i, d in self._docs.items():
                if cond(d):
                    return clone(d, i)
            return None
        raise RuntimeError("You have to pass either cond or doc_id or doc_ids")

    def contains(self, cond: QueryLike | None = None, doc_id: int | None = None) -> bool:
        """Whether a document with this id, or matching this condition, exists."""
        if doc_id is not None:
            return int(doc_id) in self._docs
        if cond is not None:
            return any(cond(d) for d in self._docs.values())
        raise RuntimeError("You have to pass either cond or doc_id")

    def search(self, cond: QueryLike) -> list[Document]:
        """Documents matching a condition (a scan: use `Store.find` on hot paths)."""
        return [clone(d, i) for i, d in self._docs.items() if cond(d)]

    def count(self, cond: QueryLike) -> int:
        """How many documents match a condition."""
        return sum(1 for d in self._docs.values() if cond(d))

    def all(self) -> list[Document]:
        """Every document."""
        return list(iter(self))

    def __iter__(self) -> Iterator[Document]:
        for doc_id, doc in list(self._docs.items()):
            yield clone(doc, doc_id)

    def __len__(self) -> int:
        return len(self._docs)

    def _get_next_id(self) -> int:
        return self._next

    def _read_table(self) -> dict[str, Mapping[str, Any]]:
        return {str(i): d for i, d in self._docs.items()}

    def _update_table(self, updater: Callable[[dict[int, Mapping[str, Any]]], None]) -> None:
        # Every writing method is overridden; reaching this would rewrite the whole table.
        raise NotImplementedError("LogTable writes records per document")


def _updated(doc: Doc, fields: Fields) -> Doc:
    """A new version of a document; the stored one is left untouched."""
    if callable(fields):
        new: Doc = _deep(doc)
        fields(new)
        return new
    return {**doc, **fields}
