"""The TinyDB Storage behind the store: replay on open, fsync'd appends, background compaction."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from tinydb.storages import Storage
from tinydb.table import Document

from bot.storage.codec import dumps, loads
from bot.storage.errors import StoreError
from bot.storage.files import (
    Chain,
    Frozen,
    log_path,
    open_chain,
    remove_before,
    remove_temps,
    snap_path,
    snapshot_records,
    split_docs,
)
from bot.storage.index import INDEX_VERSION
from bot.storage.log import LogWriter, encode_line, fsync_dir, iter_records, read_lines
from bot.storage.table import LogTable

log = logging.getLogger(__name__)

COMPACT_MIN_BYTES = 32 << 20
_ROOT = Path(__file__).resolve().parents[2]  # where `bot` is importable from, for the child
# The task whose writes leave their fsync to its `flush` (see LogStorage.deferred_sync).
_DEFERRING: ContextVar[asyncio.Task[Any] | None] = ContextVar("_DEFERRING", default=None)


class LogStorage(Storage):
    """All tables of a DATA_DIR in memory, every change appended to the current log segment.

    The caller holds the DATA_DIR lock; `read_only` opens a running store's files without it
    (for backups and compaction, up to segment `upto`) and never changes them.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        read_only: bool = False,
        upto: int | None = None,
        compact_min_bytes: int = COMPACT_MIN_BYTES,
    ) -> None:
        if not data_dir.is_dir():
            raise StoreError(f"{data_dir} is not a directory")
        self.data_dir = data_dir
        self.tables: dict[str, LogTable] = {}
        self.schema = 0
        self.compact_min_bytes = compact_min_bytes
        self.compactions = 0
        self.snapshot_stale = False  # the files lack an index built since open: compact soon
        self._snap_bytes = 0
        self._child: subprocess.Popen[bytes] | None = None
        self._writer: LogWriter | None = None
        self._read_only = read_only
        chain = open_chain(data_dir, upto)
        try:
            valid_size = self._replay(chain)
        finally:
            chain.close()
        self._seq = chain.logs[-1][0] if chain.logs else max(chain.base, 1)
        if not read_only:
            remove_before(data_dir, chain.base)  # leftovers of an interrupted cleanup
            remove_temps(data_dir)
            self._writer = LogWriter(log_path(data_dir, self._seq), valid_size)
            if not chain.logs:
                fsync_dir(data_dir)

    def _replay(self, chain: Chain) -> int | None:
        """Load the snapshot and apply the segments; return the last segment's valid length."""
        if chain.snap is not None:
            payloads = snapshot_records(chain.snap, chain.snap.name)
            self._snap_bytes = sum(len(p) for p in payloads)
            self._load_snapshot(payloads, chain.snap.name)
            del payloads  # the documents are slices: free the file's text before the next one
        valid: int | None = None
        for _, f in chain.logs:
            payloads, valid, size = read_lines(f)
            if size > valid and not self._read_only:
                log.warning(
                    "store: dropping a torn tail of %d bytes at the end of %s (a write cut "
                    "short by a crash; it was never acknowledged)",
                    size - valid,
                    Path(f.name).name,
                )
            self._apply_all(payloads)
        return valid

    def _load_snapshot(self, payloads: list[bytes], name: str) -> None:
        """Slice documents out of their records and load saved indexes, decoding no document."""
        header = loads(payloads[0])[2]
        self.schema = int(header["schema"])
        saved_indexes = header.get("index") == INDEX_VERSION  # else rebuilt when declared
        id_objects: dict[str, dict[int, int]] = {}  # per table, built at its first index
        pending: tuple[LogTable, list[int]] | None = None
        for payload in payloads[1:-1]:
            if pending is not None:
                table, ids = pending
                table.load_encoded(split_docs(payload, table.name_json, ids))
                pending = None
                continue
            table_name, op, data = loads(payload)
            if op == "ids":
                pending = self.table(table_name), data
            elif op == "ix":
                if saved_indexes:
                    table = self.table(table_name)
                    if table_name not in id_objects:
                        id_objects[table_name] = table.id_objects()
                    table.load_index(data, id_objects[table_name])
            else:
                self.table(table_name).apply(op, data)  # "n", and "s" of version-1 files
        if pending is not None:
            raise StoreError(f"{name}: documents missing after their ids")

    def _apply_all(self, payloads: list[bytes]) -> None:
        for name, op, data in iter_records(payloads):
            if name:
                self.table(name).apply(op, data)
            elif op in ("snap", "meta"):
                self.schema = int(data["schema"])

    def table(self, name: str) -> LogTable:
        """The table of this name, created empty if new."""
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = LogTable(self, name, self)
        return table

    def commit(self, payload: bytes) -> None:
        """Append one record and fsync it, or raise StoreError having written nothing.

        Inside `deferred_sync` the fsync is left to `flush`; the record is written at once, so
        the log keeps the order memory saw the changes in.
        """
        if self._writer is None:
            raise StoreError("the store is closed or read-only")
        self.maybe_compact()  # before the record: memory already holds every earlier one
        self._writer.append(encode_line(payload), sync=not _deferring())

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Let the current task's writes skip their fsync until it awaits `flush`.

        The caller must `await flush()` before telling anyone a change is done. One fsync then
        covers every write so far, the writes of other users' tasks included (a group commit),
        and it runs in a worker thread while the event loop goes on. Tasks started inside keep
        fsyncing each write, since nothing makes them flush.
        """
        token = _DEFERRING.set(asyncio.current_task())
        try:
            yield
        finally:
            _DEFERRING.reset(token)

    async def flush(self) -> None:
        """Make every write so far durable, in a worker thread; raises StoreError."""
        writer = self._writer
        if writer is None or writer.synced >= writer.size:
            return
        await asyncio.to_thread(writer.sync, writer.size)

    def set_schema(self, version: int) -> None:
        """Record the schema version the data now has."""
        self.commit(dumps(["", "meta", {"schema": version}]))
        self.schema = version

    def freeze(self) -> Frozen:
        """Every table's state, for a snapshot (of a read-only storage, which nothing changes)."""
        return {name: table.frozen() for name, table in self.tables.items()}

    def index_fields(self) -> dict[str, list[str]]:
        """Indexed fields by table, for a compaction or backup to save their indexes."""
        return {
            name: list(t.indexed_fields) for name, t in self.tables.items() if t.indexed_fields
        }

    # --- compaction ----------------------------------------------------------------------

    @property
    def compacting(self) -> bool:
        """Whether a compaction child is still writing its snapshot."""
        if self._child is None:
            return False
        code = self._child.poll()
        if code is None:
            return True
        if code == 0:
            self.compactions += 1
            self._snap_bytes = self._current_snapshot_size()
            # Documents written since open are long-lived too: keep full GCs short (see db.py).
            gc.freeze()
        else:
            # The old snapshot and segments are still complete: retry when the log grows again.
            log.warning("store compaction exited with %s", code)
        self._child = None
        return False

    def _current_snapshot_size(self) -> int:
        try:
            return snap_path(self.data_dir, self._seq).stat().st_size
        except FileNotFoundError:
            return self._snap_bytes  # a later rotation already replaced it

    def maybe_compact(self) -> bool:
        """Start a compaction if the current segment has grown enough; return if started."""
        if self._writer is None or self.compacting:
            return False
        # A quarter of the snapshot: replaying the segment on open stays well under loading it.
        grown = self._writer.size >= max(self.compact_min_bytes, self._snap_bytes // 4)
        if not (grown or self.snapshot_stale):
            return False
        return self.compact(wait=False)

    def compact(self, wait: bool = True) -> bool:
        """Start a new segment and fold everything before it into a snapshot, in a child."""
        if self._writer is None or self.compacting:
            return False
        seq = self._seq + 1
        try:
            self._writer.sync(self._writer.size)  # the snapshot must not hold unsynced writes
            writer = LogWriter(log_path(self.data_dir, seq))
            fsync_dir(self.data_dir)
        except (StoreError, OSError) as exc:
            log.warning("compaction not started: %s", exc)
            return False
        self._writer.close()
        self._writer, self._seq = writer, seq
        self.snapshot_stale = False  # the child saves every index declared by now
        pid = str(os.getpid())
        path = os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))
        self._child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.storage.compact",
                str(self.data_dir),
                str(seq),
                pid,
                json.dumps(self.index_fields()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
        )
        if wait:
            self.wait_compaction()
        return True

    def wait_compaction(self) -> None:
        """Block until a running compaction has finished."""
        if self._child is not None:
            self._child.wait()
            self.compacting  # noqa: B018 - records the outcome

    # --- tinydb Storage ------------------------------------------------------------------

    def read(self) -> dict[str, dict[str, Any]]:
        """Every table as TinyDB's storage layout {table: {doc_id: doc}} (a full copy)."""
        return {name: table._read_table() for name, table in self.tables.items()}

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Replace every table's contents (slow, whole-database: for imports only)."""
        for name in set(self.tables) | set(data):
            table = self.table(name)
            table.truncate()
            docs = data.get(name, {})
            table.insert_multiple(Document(doc, int(i)) for i, doc in docs.items())

    def close(self) -> None:
        """Wait for a running compaction and close the log."""
        self.wait_compaction()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _deferring() -> bool:
    task = _DEFERRING.get()
    if task is None:
        return False
    try:
        return task is asyncio.current_task()
    except RuntimeError:  # a worker thread that copied the context: not the deferring task
        return False
