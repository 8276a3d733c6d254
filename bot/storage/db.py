"""The document store: TinyDB tables in DATA_DIR, one process at a time, every write on disk.

Repositories (bot/services/*) use `Store.table(name, indexes=...)` and the TinyDB `Table` API
(insert, get(doc_id=), update(fields, doc_ids=[...]), remove(doc_ids=[...]), search) plus
`Store.find(table, field, value)` for equality lookups that must stay fast at province scale.

Each write appends one checksummed line to a log and fsyncs it before returning; documents
live in memory as their encoded JSON (decoded afresh on every read, so callers may mutate what
they get) with secondary indexes; a background compaction folds the log into a snapshot that
also holds the indexes, so opening the store decodes no document.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tinydb.table import Document

from bot.storage.backup import backup
from bot.storage.budget import RateBudget, Unmetered
from bot.storage.engine import COMPACT_MIN_BYTES, LogStorage
from bot.storage.errors import StoreError, StoreLocked
from bot.storage.files import lock, unlock
from bot.storage.migrations import listing_slugs
from bot.storage.table import LogTable

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "StoreLocked"]

Migration = Callable[["Store"], None]

# MIGRATIONS[i] brings data from schema i + 1 to i + 2; append, never edit or reorder. A crash
# mid-migration runs it again on the next start, so each must be safe to repeat.
MIGRATIONS: tuple[Migration, ...] = (listing_slugs,)
SCHEMA_VERSION = 1 + len(MIGRATIONS)

_LEGACY = "store.json"  # the first version's whole-file JSON store
RESNAPSHOT_DOCS = 20_000  # an index built over this many documents on open is worth saving


class Store:
    """All tables of one DATA_DIR, held open by exactly one process."""

    shared = False  # whether other processes use the same data (PgStore)

    def __init__(
        self,
        data_dir: Path,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        compact_min_bytes: int = COMPACT_MIN_BYTES,
    ) -> None:
        self.data_dir = data_dir
        self._exclusive: dict[str, asyncio.Lock] = {}
        self._lock: IO[Any] | None = lock(data_dir)
        self._engine: LogStorage | None = None
        try:
            with no_gc():
                self._engine = LogStorage(data_dir, compact_min_bytes=compact_min_bytes)
            self._import_legacy()
            self._migrate(migrations)
        except BaseException:
            self.close()
            raise

    @property
    def engine(self) -> LogStorage:
        """The open storage engine."""
        if self._engine is None:
            raise StoreError("the store is closed")
        return self._engine

    @property
    def schema(self) -> int:
        """The schema version of the stored data."""
        return self.engine.schema

    def table(self, name: str, indexes: Sequence[str] = ()) -> LogTable:
        """Return a table; `indexes` names fields that `find` looks up by equality."""
        table = self.engine.table(name)
        if set(indexes) - set(table.indexed_fields):
            with no_gc():
                table.add_indexes(indexes)
            if len(table) >= RESNAPSHOT_DOCS:
                # The snapshot lacks this index (new field, older file): save it with the
                # next write, so the next start does not decode the whole table again.
                self.engine.snapshot_stale = True
        return table

    def find(self, table: LogTable, field: str, value: Any) -> list[Document]:
        """Documents whose `field` equals `value` (or, for a list field, contains it)."""
        return table.find(field, value)

    def find_where(self, table: LogTable, conditions: Mapping[str, Any]) -> list[Document]:
        """Documents meeting every `find` condition, e.g. {"product_id": p, "status": "active"}."""
        return table.find_where(conditions)

    def find_ids(self, table: LogTable, conditions: Mapping[str, Any]) -> list[int]:
        """Ids meeting every condition, ascending, copying no document (for paging)."""
        return table.find_ids(conditions)

    def count_where(self, table: LogTable, conditions: Mapping[str, Any]) -> int:
        """How many documents meet every condition (through indexes, copying nothing)."""
        return table.count_where(conditions)

    def deferred_sync(self) -> contextlib.AbstractContextManager[None]:
        """Writes of the current task skip their fsync until `flush` (see LogStorage)."""
        return self.engine.deferred_sync()

    async def flush(self, *, ends_turn: bool = False) -> None:
        """Make every write so far durable (one fsync in a worker thread); raises StoreError.

        `ends_turn` (the person's turn writes nothing more) changes nothing here: the turn
        is this process's own lock.
        """
        await self.engine.flush()

    def maybe_compact(self) -> bool:
        """Start a background compaction if the log has grown enough (writes also check)."""
        return self.engine.maybe_compact()

    def compact(self, wait: bool = True) -> bool:
        """Fold the log into a new snapshot now; writes may continue meanwhile."""
        return self.engine.compact(wait=wait)

    def backup(self, dest: Path) -> int:
        """Write a consistent snapshot to `dest`; return its document count.

        It reads the files, not memory, so it may run in a thread (`asyncio.to_thread`).
        """
        return backup(self.data_dir, dest, self.engine.index_fields())

    @contextlib.asynccontextmanager
    async def committed(self) -> AsyncIterator[None]:
        """Commit the block's writes together when it ends, outside any update.

        Raises StoreConflict when another process changed the same documents first (a
        version-checked write: e.g. one of two processes using a one-time link wins).
        """
        await self.flush()  # writes made before go first: the block may change what they made
        with self.deferred_sync():
            yield
            await self.flush()

    async def catch_up(self) -> None:
        """Wait until every change committed before now is in memory (other processes' too)."""

    def on_change(self, name: str, listener: Callable[[list[int]], None]) -> None:
        """Call `listener(ids)` when another process changes documents: none does here."""

    @contextlib.contextmanager
    def startup_lock(self, name: str) -> Iterator[None]:
        """One process at a time (seeding a new store at start); memory is fresh inside."""
        yield

    @contextlib.asynccontextmanager
    async def user_turn(self, key: str) -> AsyncIterator[None]:
        """One person's update at a time across processes; the engine's own lock suffices here."""
        yield

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """One task at a time in this block (across processes on a shared store)."""
        lock = self._exclusive.setdefault(name, asyncio.Lock())
        async with lock:
            yield

    async def set_if_unchanged(
        self,
        table: LogTable,
        ids: Sequence[int],
        fields: Mapping[str, Any],
        where: Callable[[Document], bool] | None = None,
    ) -> list[int]:
        """Set `fields` on each document no other process changed since this one read it.

        Each document on its own, committed before this returns (outside the current update's
        batch): one that another process changed or is changing is left out, the others are
        set; the ids set are returned. Only documents `where(doc)` holds for (as this process
        has them, when the write starts) are considered. Claims are made so (the broadcast
        outbox): a row another process claimed first is skipped, not a conflict. Here, the only
        process: every document that exists and meets `where`.
        """
        present = [i for i in dict.fromkeys(ids) if meets(table.by_id(i), where)]
        if present:
            table.update(dict(fields), doc_ids=present)
        return present

    def rate_budget(self, name: str, max_rate: float) -> RateBudget:
        """The send budget `name` (a channel) shared by every process: here, this one's pacer."""
        return Unmetered()

    async def take_lease(self, name: str, ttl: float) -> bool:
        """Whether this process holds the lease `name` (always: it is the only one)."""
        return True

    async def release_lease(self, name: str) -> None:
        """Give a lease up (nothing to do for a single process)."""

    async def reachable(self) -> bool:
        """Whether the store can be written (for /healthz)."""
        return self._engine is not None

    async def start(self) -> None:
        """Start what the store runs inside the event loop (nothing, for the embedded store)."""

    async def stop(self) -> None:
        """Stop what `start` started."""

    def close(self) -> None:
        """Release the store and its lock (waits for a running compaction)."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        if self._lock is not None:
            unlock(self._lock)
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _import_legacy(self) -> None:
        """Bring in the first version's store.json (idempotent until its schema is recorded)."""
        legacy = self.data_dir / _LEGACY
        if self.engine.schema or not legacy.exists():
            return
        try:
            data = json.loads(legacy.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot import {legacy}: {exc}") from exc
        self.engine.write(data)
        self.engine.set_schema(1)
        legacy.rename(legacy.with_name(_LEGACY + ".imported"))

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        """Run the migrations the stored data has not had yet, recording each one."""
        target = 1 + len(migrations)
        engine = self.engine
        if engine.schema == 0:
            engine.set_schema(target)  # a new, empty store is born at the current schema
        if engine.schema > target:
            raise StoreError(
                f"{self.data_dir} has schema {engine.schema}; this version knows {target}"
            )
        while engine.schema < target:
            migrations[engine.schema - 1](self)
            engine.set_schema(engine.schema + 1)


def meets(doc: Document | None, where: Callable[[Document], bool] | None) -> bool:
    """Whether a document exists and meets the condition (if any)."""
    return doc is not None and (where is None or where(doc))


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Load without the cyclic GC, then exempt what was loaded from future collections.

    Millions of loaded objects make every full collection take seconds (a pause in the event
    loop); stored documents hold no reference cycles, so freezing them leaks nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()
        _trim_heap()


def _trim_heap() -> None:
    """Give the file text read while loading back to the system.

    The snapshot's lines are freed only after the documents cut from them are allocated above
    them in the heap, so glibc keeps that free space (~the snapshot's size) resident unless told.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim  # noqa: B018 - absent outside glibc (musl)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()
