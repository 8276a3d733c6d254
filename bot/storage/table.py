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

from bot.storage.codec import dumps, dumps_kept, loads
from bot.storage.errors import StoreError
from bot.storage.index import FieldIndex

Doc = dict[str, Any]
Fields = Mapping[str, Any] | Callable[[MutableMapping[str, Any]], None]


class Committer(Protocol):
    """Where a table sends its encoded records."""

    def commit(self, payload: bytes) -> None:
        """Make one record durable or raise StoreError."""


_CHUNK = 2000  # documents decoded per orjson call when reading many
# Document ids changed lately, per table, for views that follow them (bot/storage/follow.py);
# a view that fell further behind reads the whole table again.
JOURNAL_MAX = 50_000


def decode_many(encoded: list[bytes]) -> list[Doc]:
    """Decode many stored documents in one call (fresh objects: callers may mutate them)."""
    if not encoded:
        return []
    return loads(b"[" + b",".join(encoded) + b"]")


def as_document(doc: Doc, doc_id: int) -> Document:
    """A freshly decoded dict as a TinyDB Document."""
    out = Document.__new__(Document)  # skips Document.__init__'s checks; one shallow copy
    dict.update(out, doc)
    out.doc_id = doc_id
    return out


def field_matches(field_value: Any, value: Any) -> bool:
    """Equality, or membership when the stored field is a list."""
    if isinstance(field_value, list) and not isinstance(value, list):
        return value in field_value
    return bool(field_value == value)


def _reindex(indexes: Iterable[FieldIndex], doc_id: int, old: Doc | None, new: Doc) -> None:
    """Move a document's index entries from its old version to its new one.

    Most updates touch no indexed field (stock, a status history): those indexes are left alone.
    """
    for index in indexes:
        if old is not None:
            before, after = old.get(index.field, _MISSING), new.get(index.field, _MISSING)
            if type(before) is type(after) and before == after:
                continue
            index.drop(doc_id, old)
        index.add(doc_id, new)


_MISSING = object()


class LogTable(Table):
    """Documents kept as their encoded bytes, secondary indexes, and log records per write.

    Bytes cost a fifth of the memory of decoded dicts, open without decoding (snapshots record
    where each document starts), and every read decodes a fresh object no caller can share.
    """

    def __init__(self, storage: Storage, name: str, committer: Committer) -> None:
        super().__init__(storage, name)
        self._docs: dict[int, bytes] = {}
        self._next = 1
        self._committer = committer
        self.name_json = dumps(name)
        self._indexes: dict[str, FieldIndex] = {}
        self.generation = 0  # counts changed documents (and truncations); never goes back
        self._journal: list[int] = []  # the ids of the last len(_journal) generations

    # --- changes, for views that follow the table -------------------------------------------

    def changes_since(self, generation: int) -> list[int] | None:
        """Ids set or removed after `generation` (repeats kept), or None if no longer known.

        Every change counts, whoever made it: a write here or a record replayed from elsewhere.
        None (too far behind, or the table was truncated or bulk-loaded since) means: read
        the whole table again.
        """
        behind = self.generation - generation
        if behind < 0 or behind > len(self._journal):
            return None
        return self._journal[len(self._journal) - behind :]

    def _changed(self, doc_id: int) -> None:
        self._journal.append(doc_id)
        self.generation += 1
        if len(self._journal) > JOURNAL_MAX:
            del self._journal[: JOURNAL_MAX // 2]

    def _reset_journal(self) -> None:
        """Forget the journal: views started before now must read everything again."""
        self._journal.clear()
        self.generation += 1

    # --- indexes -------------------------------------------------------------------------

    @property
    def indexed_fields(self) -> tuple[str, ...]:
        """Fields with a secondary index."""
        return tuple(self._indexes)

    @property
    def indexes(self) -> dict[str, FieldIndex]:
        """The secondary indexes by field (for snapshots; not to be changed)."""
        return self._indexes

    def add_indexes(self, fields: Iterable[str]) -> None:
        """Declare indexed fields, building the new ones in one decoding pass."""
        new = [FieldIndex(f) for f in dict.fromkeys(fields) if f not in self._indexes]
        if not new:
            return
        for chunk in self._decoded(list(self._docs)):
            for index in new:
                index.build(chunk)
        for index in new:
            self._indexes[index.field] = index

    def load_index(self, dumped: list[Any], id_objects: Mapping[int, int]) -> None:
        """Install an index saved in a snapshot with the documents loaded before it."""
        field, *lists = dumped
        try:
            self._indexes[field] = FieldIndex.load(field, lists, id_objects)
        except (KeyError, ValueError) as exc:
            raise StoreError(f"table {self.name!r}: saved index {field!r} is damaged") from exc

    def doc_ids(self) -> list[int]:
        """Every document id, in insertion order."""
        return list(self._docs)

    def id_objects(self) -> dict[int, int]:
        """Each document id mapped to itself: the int objects indexes should share."""
        return dict(zip(self._docs, self._docs, strict=True))

    def index_sets(self, field: str) -> dict[Hashable, set[int]]:
        """One index as value -> set of ids (for consistency checks)."""
        return self._indexes[field].as_sets()

    def find(self, field: str, value: Any) -> list[Document]:
        """Documents whose `field` equals `value` or, for a list field, contains it."""
        return self.find_where({field: value})

    def find_where(self, conditions: Mapping[str, Any]) -> list[Document]:
        """Documents meeting every field condition of `find`, intersecting indexes first."""
        ids, docs = self._match(conditions)
        if docs is None:
            docs = [d for chunk in self._decoded(ids) for _, d in chunk]
        return [as_document(d, i) for i, d in zip(ids, docs, strict=True)]

    def count_where(self, conditions: Mapping[str, Any]) -> int:
        """How many documents `find_where` would return, without decoding them if indexed."""
        return len(self._match(conditions)[0])

    def find_ids(self, conditions: Mapping[str, Any]) -> list[int]:
        """Ids of the documents `find_where` would return, ascending: page, then `get`."""
        return self._match(conditions)[0]

    def _match(self, conditions: Mapping[str, Any]) -> tuple[list[int], list[Doc] | None]:
        """Matching ids, and their decoded documents if unindexed conditions needed them."""
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
            ids = sorted(found)
        else:
            ids = list(self._docs)
        if not rest:
            return ids, None
        kept: list[int] = []
        docs: list[Doc] = []
        for chunk in self._decoded(ids):
            for doc_id, doc in chunk:
                if all(f in doc and field_matches(doc[f], v) for f, v in rest):
                    kept.append(doc_id)
                    docs.append(doc)
        return kept, docs

    def _decoded(self, ids: list[int]) -> Iterator[list[tuple[int, Doc]]]:
        """(id, fresh decoded document) for existing ids, a chunk at a time."""
        docs = self._docs
        for start in range(0, len(ids), _CHUNK):
            part = [i for i in ids[start : start + _CHUNK] if i in docs]
            yield list(zip(part, decode_many([docs[i] for i in part]), strict=True))

    def _scan(self, cond: QueryLike) -> Iterator[tuple[int, Doc]]:
        """Every document matching a condition, decoded, in id order of insertion."""
        for chunk in self._decoded(list(self._docs)):
            for doc_id, doc in chunk:
                if cond(doc):
                    yield doc_id, doc

    # --- applying records (live writes and replay) ---------------------------------------

    def apply(self, op: str, data: Any) -> None:
        """Apply one decoded log record to memory and indexes."""
        if op == "s":
            docs = {int(k): v for k, v in data.items()}
            self._apply_set({i: dumps_kept(d) for i, d in docs.items()}, docs)
        elif op == "r":
            self._apply_remove(data)
        elif op == "x":
            self._apply_truncate()
        elif op == "n":
            self._next = max(self._next, int(data))
        else:
            raise ValueError(f"unknown record {op!r}")

    def load_encoded(self, docs: list[tuple[int, bytes]]) -> None:
        """Add documents from a snapshot as they are (their indexes come after them)."""
        self._docs.update(docs)
        self._reset_journal()
        if docs:
            self._next = max(self._next, max(docs)[0] + 1)

    def _apply_set(
        self,
        encoded: dict[int, bytes],
        decoded: Mapping[int, Doc],
        olds: Mapping[int, Doc] | None = None,
    ) -> None:
        """Store new versions; `decoded` are the same documents as objects, for the indexes."""
        indexes = self._indexes.values()
        for doc_id, data in encoded.items():
            if indexes:
                old = self._docs.get(doc_id)
                old_doc = None if old is None else olds[doc_id] if olds else loads(old)
                _reindex(indexes, doc_id, old_doc, decoded[doc_id])
            self._docs[doc_id] = data
            self._changed(doc_id)
            if doc_id >= self._next:
                self._next = doc_id + 1

    def _apply_remove(self, doc_ids: Iterable[int]) -> None:
        for doc_id in doc_ids:
            old = self._docs.pop(doc_id, None)
            if old is None:
                continue
            self._changed(doc_id)
            if self._indexes:
                old_doc = loads(old)
                for index in self._indexes.values():
                    index.drop(doc_id, old_doc)

    def _apply_truncate(self) -> None:
        self._docs.clear()
        self._reset_journal()
        for index in self._indexes.values():
            index.clear()

    def frozen(self) -> tuple[int, dict[int, bytes], dict[str, FieldIndex]]:
        """Next id, documents and indexes of a table no one writes to any more (snapshots)."""
        return self._next, self._docs, self._indexes

    # --- writes --------------------------------------------------------------------------

    def _write_set(self, changed: dict[int, Doc], olds: Mapping[int, Doc] | None = None) -> None:
        """Log then apply new versions of some documents (all or none)."""
        if not changed:
            return
        encoded = {doc_id: self._encode(doc) for doc_id, doc in changed.items()}
        body = b",".join(b'"%d":%s' % (doc_id, text) for doc_id, text in encoded.items())
        self._committer.commit(b'[%s,"s",{%s}]' % (self.name_json, body))
        # Indexes get what a reopen would read, not the caller's objects (tuples, int keys).
        decoded = {i: loads(t) for i, t in encoded.items()} if self._indexes else {}
        self._apply_set(encoded, decoded, olds)

    @staticmethod
    def _encode(doc: Doc) -> bytes:
        """A document as it will be stored (a shared store adapts it to its database)."""
        return dumps_kept(doc)

    def _write_remove(self, doc_ids: list[int]) -> None:
        if doc_ids:
            self._committer.commit(b'[%s,"r",%s]' % (self.name_json, dumps(doc_ids)))
            self._apply_remove(doc_ids)

    def _explicit_id(self, document: Document, taken: Mapping[int, Doc]) -> int:
        doc_id = int(document.doc_id)
        if doc_id in self._docs or doc_id in taken:
            raise ValueError(f"Document with ID {doc_id} already exists")
        return doc_id

    def _new_id(self, candidate: int) -> int:
        """The id of a new document: here the next free one; shared stores ask the database."""
        return candidate

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
                doc_id = self._new_id(next_id)
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
            olds = {i: d for chunk in self._decoded(ids) for i, d in chunk}
        elif cond is not None:
            olds = dict(self._scan(cond))
        else:
            olds = {i: d for chunk in self._decoded(list(self._docs)) for i, d in chunk}
        self._write_set({i: self._updated(d, fields) for i, d in olds.items()}, olds)
        return list(olds)

    def update_multiple(self, updates: Iterable[tuple[Fields, QueryLike]]) -> list[int]:
        """Apply each (fields, condition) pair to the documents it matches, in one record."""
        pairs = list(updates)
        changed: dict[int, Doc] = {}
        olds: dict[int, Doc] = {}
        ids: list[int] = []
        for chunk in self._decoded(list(self._docs)):
            for doc_id, doc in chunk:
                new = doc
                for fields, cond in pairs:
                    if cond(new):
                        new = self._updated(new, fields)
                        ids.append(doc_id)
                if new is not doc:
                    changed[doc_id] = new
                    olds[doc_id] = doc
        self._write_set(changed, olds)
        return ids

    @staticmethod
    def _updated(doc: Doc, fields: Fields) -> Doc:
        """A new version of `doc`, which stays as it was (the old version, for the indexes)."""
        if callable(fields):
            new: Doc = loads(dumps(doc))  # a deep copy, in C
            fields(new)  # TinyDB's contract: the function changes the document in place
            return new
        return {**doc, **fields}

    def remove(
        self, cond: QueryLike | None = None, doc_ids: Iterable[int] | None = None
    ) -> list[int]:
        """Remove documents by ids or by condition; return the ids removed."""
        if doc_ids is not None:
            ids = [i for i in dict.fromkeys(doc_ids) if i in self._docs]
        elif cond is not None:
            ids = [i for i, _ in self._scan(cond)]
        else:
            raise RuntimeError("Use truncate() to remove all documents")
        self._write_remove(ids)
        return ids

    def truncate(self) -> None:
        """Remove every document (ids keep counting up, so old ids are never reused)."""
        self._committer.commit(b'[%s,"x",null]' % self.name_json)
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
            data = self._docs.get(int(doc_id))
            return None if data is None else as_document(loads(data), int(doc_id))
        if doc_ids is not None:
            wanted = list(dict.fromkeys(doc_ids))
            return [as_document(d, i) for chunk in self._decoded(wanted) for i, d in chunk]
        if cond is not None:
            for i, d in self._scan(cond):
                return as_document(d, i)
            return None
        raise RuntimeError("You have to pass either cond or doc_id or doc_ids")

    def by_id(self, doc_id: int) -> Document | None:
        """The document with this id, if any (what `get(doc_id=)` does, typed as such)."""
        data = self._docs.get(int(doc_id))
        return None if data is None else as_document(loads(data), int(doc_id))

    def items(self, doc_ids: list[int]) -> Iterator[tuple[int, Doc]]:
        """(id, fresh decoded document) of the ids that exist, in the order asked."""
        for chunk in self._decoded(doc_ids):
            yield from chunk

    def by_ids(self, doc_ids: list[int]) -> list[Document]:
        """The documents of these ids that exist, in the order asked, each once."""
        wanted = list(dict.fromkeys(doc_ids))
        return [as_document(d, i) for chunk in self._decoded(wanted) for i, d in chunk]

    def contains(self, cond: QueryLike | None = None, doc_id: int | None = None) -> bool:
        """Whether a document with this id, or matching this condition, exists."""
        if doc_id is not None:
            return int(doc_id) in self._docs
        if cond is not None:
            return any(True for _ in self._scan(cond))
        raise RuntimeError("You have to pass either cond or doc_id")

    def search(self, cond: QueryLike) -> list[Document]:
        """Documents matching a condition (a scan: use `Store.find` on hot paths)."""
        return [as_document(d, i) for i, d in self._scan(cond)]

    def count(self, cond: QueryLike) -> int:
        """How many documents match a condition."""
        return sum(1 for _ in self._scan(cond))

    def all(self) -> list[Document]:
        """Every document."""
        return list(iter(self))

    def __iter__(self) -> Iterator[Document]:
        for chunk in self._decoded(list(self._docs)):
            for doc_id, doc in chunk:
                yield as_document(doc, doc_id)

    def __len__(self) -> int:
        return len(self._docs)

    def _get_next_id(self) -> int:
        return self._next

    def _read_table(self) -> dict[str, Mapping[str, Any]]:
        return {str(i): d for chunk in self._decoded(list(self._docs)) for i, d in chunk}

    def _update_table(self, updater: Callable[[dict[int, Mapping[str, Any]]], None]) -> None:
        # Every writing method is overridden; reaching this would rewrite the whole table.
        raise NotImplementedError("LogTable writes records per document")
