"""Backups and restores of a DATA_DIR, usable while the bot is running.

`backup` reads the store's files without taking its lock: segments are append-only and every
record is one checksummed line, so what it reads is a prefix of the writes, a consistent state.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.private_files import open_private
from bot.storage.codec import dumps, loads
from bot.storage.compact import add_indexes
from bot.storage.engine import LogStorage
from bot.storage.errors import StoreError
from bot.storage.files import (
    FORMAT,
    listing,
    locked,
    snap_path,
    snapshot_records,
    write_snapshot,
)
from bot.storage.log import fsync_dir, iter_records


def backup(data_dir: Path, dest: Path, indexes: Mapping[str, Sequence[str]] | None = None) -> int:
    """Write a consistent snapshot of DATA_DIR to `dest`; return how many documents it holds.

    It saves the indexes the store's snapshot had plus `indexes` (table -> fields), so a
    restored store opens without building them.
    """
    engine = LogStorage(data_dir, read_only=True)
    add_indexes(engine, indexes or {})
    return write_snapshot(dest, engine.freeze(), engine.schema)


def restore(src: Path, data_dir: Path) -> int:
    """Bring a backup into an empty DATA_DIR; return how many documents it holds."""
    count = verify(src)
    with locked(data_dir):
        if any(p.name != ".lock" for p in data_dir.iterdir()):
            raise StoreError(f"{data_dir} is not empty: restore only into an empty DATA_DIR")
        target = snap_path(data_dir, 1)
        tmp = target.with_name(target.name + ".tmp")
        try:
            with src.open("rb") as fin, open_private(tmp) as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
                fout.flush()
                os.fsync(fout.fileno())
            os.replace(tmp, target)
            fsync_dir(data_dir)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreError(f"cannot restore into {data_dir}: {exc.strerror}") from exc
    return count


@contextlib.contextmanager
def open_backup(src: Path) -> Iterator[LogStorage]:
    """A backup file's tables in memory, read as a restore would open them (read-only)."""
    verify(src)
    with tempfile.TemporaryDirectory(prefix="nds-backup-") as tmp:
        snap_path(Path(tmp), 1).symlink_to(src.resolve())
        yield LogStorage(Path(tmp), read_only=True)


def verify(src: Path) -> int:
    """Check that a file is a complete backup; return its document count."""
    try:
        with src.open("rb") as f:
            payloads = snapshot_records(f, str(src))
    except OSError as exc:
        raise StoreError(f"cannot read {src}: {exc.strerror}") from exc
    count = 0
    expected = -1
    for name, op, data in iter_records(payloads):
        if not name and op == "snap" and data.get("format") != FORMAT:
            raise StoreError(f"{src}: unknown format {data.get('format')!r}")
        if name and op in ("s", "docs"):
            count += len(data)
        if not name and op == "end":
            expected = int(data["docs"])
    if count != expected:
        raise StoreError(f"{src}: holds {count} documents, its trailer says {expected}")
    return count


def read_docs(src: Path, table: str) -> list[dict[str, Any]]:
    """The documents of one table in a backup file or a DATA_DIR (even one a bot has open).

    Only that table's records are decoded, so reading the tombstones of a big backup is quick.
    """
    if src.is_dir():
        if not any(listing(src)):
            raise StoreError(f"{src} holds no store (no snapshot, no log)")
        try:
            state = LogStorage(src, read_only=True)
        except OSError as exc:
            raise StoreError(f"cannot read {src}: {exc.strerror}") from exc
        found = state.tables.get(table)
        return [dict(d) for d in found] if found is not None else []
    verify(src)
    with src.open("rb") as f:
        payloads = snapshot_records(f, str(src))
    prefix = b"[%s," % dumps(table)
    docs: list[dict[str, Any]] = []
    for payload in payloads:
        if payload.startswith(prefix):
            _name, op, data = loads(payload)
            if op == "docs":
                docs.extend(data)
            elif op == "s":  # version-1 files held documents by id
                docs.extend(data.values())
    return docs
