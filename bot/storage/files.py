"""The files of a DATA_DIR: snapshots, log segments, the lock, and how to read them.

`snap-N.jsonl` holds the state before segment `log-N.jsonl`; the store is the newest snapshot
plus every segment from N on, replayed in order. Compaction writes `snap-M` for a new segment M
and only then deletes what came before, so a crash at any moment leaves a complete chain.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.private_files import open_private, private_dir
from bot.storage.codec import dumps
from bot.storage.errors import StoreError, StoreLocked
from bot.storage.index import INDEX_VERSION, FieldIndex
from bot.storage.log import encode_line, fsync_dir, read_lines

FORMAT = "nds-store/1"  # version 1 files (no "o" or "ix" records) are read the same way
_NAME = re.compile(r"(snap|log)-(\d{8})\.jsonl")
_SYNC_EVERY = 8 << 20  # flush snapshot data as it goes, so the log's fsyncs stay short

# table -> (next id, encoded documents, indexes)
Frozen = dict[str, tuple[int, dict[int, bytes], dict[str, FieldIndex]]]


def log_path(data_dir: Path, seq: int) -> Path:
    """The log segment number `seq`."""
    return data_dir / f"log-{seq:08d}.jsonl"


def snap_path(data_dir: Path, seq: int) -> Path:
    """The snapshot taken just before segment `seq`."""
    return data_dir / f"snap-{seq:08d}.jsonl"


def listing(data_dir: Path) -> tuple[dict[int, Path], dict[int, Path]]:
    """Snapshots and log segments present, by number."""
    snaps: dict[int, Path] = {}
    logs: dict[int, Path] = {}
    for path in data_dir.iterdir():
        match = _NAME.fullmatch(path.name)
        if match:
            (snaps if match[1] == "snap" else logs)[int(match[2])] = path
    return snaps, logs


@dataclass
class Chain:
    """The opened files that make up the store, oldest first."""

    base: int  # number of the snapshot (0: none) and of the first segment to replay
    snap: IO[bytes] | None
    logs: list[tuple[int, IO[bytes]]] = field(default_factory=list)

    def close(self) -> None:
        """Close every file."""
        for f in [self.snap, *(f for _, f in self.logs)]:
            if f is not None:
                f.close()


def open_chain(data_dir: Path, upto: int | None = None, attempts: int = 20) -> Chain:
    """Open the newest snapshot and its segments (those before `upto`, if given).

    Open files stay readable when a concurrent compaction deletes them.
    """
    for _ in range(attempts):
        snaps, logs = listing(data_dir)
        base = max((s for s in snaps if upto is None or s < upto), default=0)
        seqs = sorted(s for s in logs if s >= base and (upto is None or s < upto))
        if seqs and seqs != list(range(base or seqs[0], seqs[-1] + 1)):
            raise StoreError(f"{data_dir}: log segments {seqs} do not follow snapshot {base}")
        chain = Chain(base, None)
        try:
            if base:
                chain.snap = snaps[base].open("rb")
            for seq in seqs:
                chain.logs.append((seq, logs[seq].open("rb")))
        except FileNotFoundError:
            chain.close()  # a compaction finished meanwhile: list again
            time.sleep(0.01)
            continue
        return chain
    raise StoreError(f"{data_dir}: files keep changing")


def snapshot_records(f: IO[bytes], name: str) -> list[bytes]:
    """Payloads of a complete snapshot or backup file, or StoreError if it is not one."""
    payloads, valid, size = read_lines(f)
    if valid != size or len(payloads) < 2:
        raise StoreError(f"{name}: not a complete snapshot")
    if not payloads[0].startswith(b'["","snap",') or not payloads[-1].startswith(b'["","end",'):
        raise StoreError(f"{name}: not a store snapshot")
    return payloads


_DOC_SEP = b",\t"  # between documents of a `docs` record: JSON, yet in no encoded document


def write_snapshot(path: Path, frozen: Frozen, schema: int, chunk: int = 500) -> int:
    """Write a frozen state to `path` (temp file, fsync, rename); return its document count.

    Per table: its next id; chunks of documents, each an `ids` record then a `docs` record
    whose array items are separated by `,<tab>` (encoded JSON has no raw tab), so an open
    splits the documents out in C without decoding them; then each index's entries (`ix`), so
    an open builds no index either.
    """
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    header = {"format": FORMAT, "schema": schema, "index": INDEX_VERSION}
    try:
        with open_private(tmp) as f:
            out = _SyncedWriter(f)
            out.write(encode_line(dumps(["", "snap", header])))
            for name, (next_id, docs, indexes) in frozen.items():
                name_json = dumps(name)
                out.write(encode_line(b'[%s,"n",%d]' % (name_json, next_id)))
                ids = list(docs)
                for start in range(0, len(ids), chunk):
                    part = ids[start : start + chunk]
                    out.write(encode_line(b'[%s,"ids",%s]' % (name_json, dumps(part))))
                    body = _DOC_SEP.join([docs[i] for i in part])
                    out.write(encode_line(b'[%s,"docs",[%s]]' % (name_json, body)))
                    count += len(part)
                for field, index in indexes.items():
                    entries = dumps([field, *index.dump()])
                    out.write(encode_line(b'[%s,"ix",%s]' % (name_json, entries)))
            out.write(encode_line(dumps(["", "end", {"docs": count}])))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {path}: {exc.strerror}") from exc
    return count


class _SyncedWriter:
    """Flushes snapshot data to disk as it goes, so the log's fsyncs meanwhile stay short."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self._unsynced = 0

    def write(self, line: bytes) -> None:
        """Write one line, syncing every few megabytes."""
        self._f.write(line)
        self._unsynced += len(line)
        if self._unsynced > _SYNC_EVERY:
            self._f.flush()
            os.fdatasync(self._f.fileno())
            self._unsynced = 0


def split_docs(payload: bytes, name_json: bytes, ids: list[int]) -> list[tuple[int, bytes]]:
    """The documents of a snapshot's `docs` record with the ids of the `ids` record before it."""
    prefix = b'[%s,"docs",[' % name_json
    if not payload.startswith(prefix) or not payload.endswith(b"]]"):
        raise StoreError("a snapshot's documents are not where their ids say")
    docs = payload[len(prefix) : -2].split(_DOC_SEP)
    if len(docs) != len(ids):
        raise StoreError(f"a snapshot record holds {len(docs)} documents for {len(ids)} ids")
    return list(zip(ids, docs, strict=True))


def remove_before(data_dir: Path, seq: int) -> None:
    """Delete the snapshots and segments that snapshot `seq` makes redundant."""
    snaps, logs = listing(data_dir)
    doomed = [p for s, p in [*snaps.items(), *logs.items()] if s < seq]
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if doomed:
        fsync_dir(data_dir)


def remove_temps(data_dir: Path) -> None:
    """Delete half-written snapshots of compactions that died (only with the lock held)."""
    for path in data_dir.glob("*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def locked(data_dir: Path) -> Iterator[IO[Any]]:
    """Hold the DATA_DIR lock for the block."""
    handle = lock(data_dir)
    try:
        yield handle
    finally:
        unlock(handle)


def lock(data_dir: Path) -> IO[Any]:
    """Take the DATA_DIR's exclusive lock or raise StoreLocked; the kernel drops it on death."""
    try:
        private_dir(data_dir)
        handle = open_private(data_dir / ".lock", "a")
    except OSError as exc:
        raise StoreError(f"cannot open {data_dir}: {exc.strerror}") from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise StoreLocked(f"{data_dir} is in use by another process") from exc
    return handle


def unlock(handle: IO[Any]) -> None:
    """Release the lock."""
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()
