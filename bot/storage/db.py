"""The document store: TinyDB tables in DATA_DIR, one process at a time, every write on disk.

Repositories (bot/services/*) use `Store.table(name, indexes=...)` and the TinyDB `Table` API
(insert, get(doc_id=), update(fields, doc_ids=[...]), remove(doc_ids=[...]), search) plus
`Store.find(table, field, value)` for equality lookups that must stay fast at province scale.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinydb import TinyDB, where
from tinydb.storages import Storage
from tinydb.table import Document, Table


class StoreError(Exception):
    """The store could not do what was asked (disk full, permissions, already in use)."""


class StoreLocked(StoreError):
    """Another process already holds this DATA_DIR."""


class AtomicJSONStorage(Storage):
    """JSON file written whole to a temp file, fsync'd, then renamed over the old one.

    Correct but O(size) per write; the province-scale store replaces it.
    """

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            with self._path.open(encoding="utf-8") as f:
                data: dict[str, dict[str, Any]] = json.load(f)
                return data
        except FileNotFoundError:
            return None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        tmp = self._path.with_suffix(".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
            dir_fd = os.open(self._path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StoreError(str(exc)) from exc


class Store:
    """All tables of one DATA_DIR, held open by exactly one process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = (data_dir / ".lock").open("a")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_file.close()
            raise StoreLocked(str(data_dir)) from exc
        self._db = TinyDB(str(data_dir / "store.json"), storage=AtomicJSONStorage)
        self._indexes: dict[str, tuple[str, ...]] = {}

    def table(self, name: str, indexes: Sequence[str] = ()) -> Table:
        """Return a table; `indexes` names fields that `find` looks up by equality."""
        self._indexes[name] = tuple(indexes)
        return self._db.table(name)

    def find(self, table: Table, field: str, value: Any) -> list[Document]:
        """Documents whose `field` equals `value` (or, for a list field, contains it)."""
        return table.search(where(field).test(lambda v: v == value or _contains(v, value)))

    def close(self) -> None:
        """Release the store and its lock."""
        self._db.close()
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()


def _contains(field_value: Any, value: Any) -> bool:
    return isinstance(field_value, list) and value in field_value
