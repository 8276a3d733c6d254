"""Checksummed JSON-lines files: the append-only, fsync'd operation log and its reader.

Every line is `<crc32 as 8 hex digits> <json>\n`. A line without its newline or with a wrong
checksum at the end of a file is the torn tail of a write that never returned: it is dropped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bot.storage.codec import loads
from bot.storage.errors import StoreError

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
            break  # no newline: the last write was cut short
        payload = decode_line(data[pos:end])
        if payload is None:
            if data.find(b"\n", end + 1) >= 0:
                raise StoreError(f"damaged record in {f.name} at byte {pos}")
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
    """An append-only file where each `append` is on disk before it returns."""

    def __init__(self, path: Path, valid_size: int | None = None) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self.size = os.fstat(self._fd).st_size
            if valid_size is not None and valid_size < self.size:
                os.ftruncate(self._fd, valid_size)  # drop a torn tail before appending
                os.fsync(self._fd)
                self.size = valid_size
        except OSError as exc:
            raise StoreError(f"cannot open {path}: {exc.strerror}") from exc
        self._dirty = False  # a failed write left bytes we could not cut off yet

    def append(self, line: bytes) -> None:
        """Write and fsync one line, or raise StoreError leaving the file as it was."""
        if self._dirty:
            self._cut()
        try:
            view = memoryview(line)
            written = 0
            while written < len(line):
                written += _os_write(self._fd, view[written:])
            _os_sync(self._fd)
        except OSError as exc:
            self._dirty = True
            with contextlib.suppress(StoreError):  # else retried before the next write
                self._cut()
            raise StoreError(_describe(exc)) from exc
        self.size += len(line)

    def _cut(self) -> None:
        """Truncate the file back to its last acknowledged byte."""
        try:
            _os_truncate(self._fd, self.size)
            _os_sync(self._fd)
        except OSError as exc:
            raise StoreError(_describe(exc)) from exc
        self._dirty = False

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def _describe(exc: OSError) -> str:
    """A short reason for the user-facing "could not save" error."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return exc.strerror or str(exc)
