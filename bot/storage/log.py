"""Checksummed JSON-lines files: the append-only, fsync'd operation log and its reader.

Every line is `<crc32 as 8 hex digits> <json>\n`. A line with a wrong checksum (or cut short)
at the end of a file is the torn tail of a write that never returned: it is dropped. A last
line whose checksum holds but whose newline is missing is whole: it is kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bot.private_files import FILE_MODE
from bot.storage.codec import loads
from bot.storage.errors import StoreDamaged, StoreError

# The system calls a write goes through; tests replace them to simulate a full disk.
_os_write = os.write
_os_sync = os.fdatasync
_os_truncate = os.ftruncate


def encode_line(payload: bytes) -> bytes:
    """One checksummed line holding an already-encoded JSON payload."""
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def decode_line(line: bytes) -> bytes | None:
    """The JSON payload of a line (newline included or not), or None if its checksum fails."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    payload = line[9:].rstrip(b"\n")
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    return payload if zlib.crc32(payload) == crc else None


def read_lines(f: IO[bytes]) -> tuple[list[bytes], int, int]:
    """Valid payloads of an open file, the byte length they span, and the size read.

    Stops at a torn tail; raises StoreError if a bad line is followed by good ones, because
    that is damage, not a write cut short.
    """
    data = f.read()
    payloads: list[bytes] = []
    pos = 0
    size = len(data)
    while pos < size:
        end = data.find(b"\n", pos)
        if end < 0:
            # No newline: the last write was cut short, unless only its newline is missing.
            payload = decode_line(data[pos:])
            if payload is not None:
                payloads.append(payload)
                pos = size
            break
        payload = decode_line(data[pos:end])
        if payload is None:
            if data.find(b"\n", end + 1) >= 0:
                raise StoreDamaged(f"damaged record in {f.name} at byte {pos}")
            break
        payloads.append(payload)
        pos = end + 1
    return payloads, pos, size


def iter_records(payloads: list[bytes], batch: int = 2000) -> Iterator[Any]:
    """Decode payloads in batches: one json.loads per batch shares the key strings."""
    for start in range(0, len(payloads), batch):
        chunk = payloads[start : start + batch]
        yield from loads(b"[" + b",".join(chunk) + b"]")


def fsync_dir(path: Path) -> None:
    """Make a created, renamed or removed directory entry durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LogWriter:
    """An append-only file; `append` is on disk when it returns unless told to leave the fsync
    to a later `sync`, which one thread may run while the event loop goes on appending.

    `size` is what was written (and is kept on failure), `synced` what is known to be on disk.
    A process killed between the two loses nothing: the kernel holds written bytes. Only a
    machine crash can drop the unsynced tail, and nobody was told about it yet.
    """

    def __init__(self, path: Path, valid_size: int | None = None) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, FILE_MODE)
            self.size = os.fstat(self._fd).st_size
            if valid_size is not None and valid_size < self.size:
                os.ftruncate(self._fd, valid_size)  # drop a torn tail before appending
                os.fsync(self._fd)
                self.size = valid_size
            if self.size and os.pread(self._fd, 1, self.size - 1) != b"\n":
                # A whole last record that lost only its newline: end it before appending.
                os.write(self._fd, b"\n")
                os.fsync(self._fd)
                self.size += 1
        except OSError as exc:
            raise StoreError(f"cannot open {path}: {exc.strerror}") from exc
        self.synced = self.size
        self._dirty = False  # a failed write left bytes we could not cut off yet
        self._sync_lock = threading.Lock()  # one fsync at a time; close waits for it

    def append(self, line: bytes, *, sync: bool = True) -> None:
        """Write one line (and fsync it unless `sync` is False), or raise StoreError leaving
        the file as it was."""
        if self._dirty:
            self._cut()
        try:
            view = memoryview(line)
            written = 0
            while written < len(line):
                written += _os_write(self._fd, view[written:])
            if sync:
                with self._sync_lock:
                    _os_sync(self._fd)
        except OSError as exc:
            self._dirty = True
            with contextlib.suppress(StoreError):  # else retried before the next write
                self._cut()
            raise StoreError(_describe(exc)) from exc
        self.size += len(line)
        if sync:
            self.synced = self.size

    def sync(self, upto: int) -> None:
        """Make the first `upto` bytes durable (and whatever was written by now), unless
        another sync already did; safe to call from a worker thread. Raises StoreError."""
        with self._sync_lock:
            if self.synced >= upto or self._fd < 0:
                return
            target = self.size
            try:
                _os_sync(self._fd)
            except OSError as exc:
                # The bytes stay and memory agrees with them: the next sync tries again.
                raise StoreError(_describe(exc)) from exc
            self.synced = max(self.synced, target)

    def _cut(self) -> None:
        """Truncate the file back to its last written whole line."""
        try:
            _os_truncate(self._fd, self.size)
            _os_sync(self._fd)
        except OSError as exc:
            raise StoreError(_describe(exc)) from exc
        self._dirty = False

    def close(self) -> None:
        """Make every written line durable and close the file."""
        try:
            self.sync(self.size)
        finally:
            with self._sync_lock:
                os.close(self._fd)
                self._fd = -1


def _describe(exc: OSError) -> str:
    """A short reason for the user-facing "could not save" error."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return exc.strerror or str(exc)
