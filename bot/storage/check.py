"""Finding and mending damage in a DATA_DIR's files (`python -m bot store check|repair`).

The store is a snapshot followed by log segments, replayed in order, so it is one sequence of
records. Damage (a bad record followed by good ones) cuts that sequence: a repair keeps every
record before the damage and moves the rest, the damaged file's tail and every later segment,
aside into files next to them, so the store opens on a consistent earlier state and nothing is
deleted.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.private_files import open_private
from bot.storage.codec import dumps, loads
from bot.storage.files import listing, locked
from bot.storage.log import decode_line, encode_line, fsync_dir


@dataclass
class FileScan:
    """What one store file holds, and where it is damaged if it is."""

    path: Path
    records: int  # whole records before any damage or torn tail
    valid: int  # bytes they span
    size: int
    damage: int | None = None  # offset of the first bad record that good ones follow
    after: int = 0  # records after the damage that still look intact
    reason: str = ""

    @property
    def torn(self) -> int:
        """Bytes of a torn tail (dropped on open, which is normal after a crash)."""
        return self.size - self.valid if self.damage is None else 0


def scan(path: Path, *, snapshot: bool = False) -> FileScan:
    """Read a snapshot or log segment and find its damage."""
    data = path.read_bytes()
    result = FileScan(path, 0, 0, len(data))
    pos = 0
    last = b""
    while pos < len(data):
        end = data.find(b"\n", pos)
        line = data[pos:] if end < 0 else data[pos:end]
        payload = decode_line(line)
        if payload is None:
            if end >= 0 and data.find(b"\n", end + 1) >= 0:
                result.damage, result.reason = pos, "a record fails its checksum"
                result.after = _intact(data, end + 1)
            break
        result.records += 1
        last = payload
        pos = len(data) if end < 0 else end + 1
    result.valid = pos
    if snapshot and result.damage is None and not last.startswith(b'["","end",'):
        # Snapshots are renamed into place whole: a missing end is damage, not a crash.
        result.damage, result.reason = result.valid, "the snapshot ends before its last record"
    return result


def _intact(data: bytes, pos: int) -> int:
    return len(_payloads(data[pos:]))


def _payloads(data: bytes) -> list[bytes]:
    """Payloads of the lines that pass their checksum."""
    return [p for p in map(decode_line, data.split(b"\n")) if p is not None]


def tables_in(data: bytes) -> Counter[str]:
    """How many intact records of each table some bytes of a store file hold."""
    counts: Counter[str] = Counter()
    for payload in _payloads(data):
        with contextlib.suppress(ValueError, TypeError, IndexError):
            name = loads(payload)[0]
            if isinstance(name, str) and name:
                counts[name] += 1
    return counts


def chain_files(data_dir: Path) -> tuple[Path | None, list[Path]]:
    """The newest snapshot and the segments replayed after it (what opening the store reads)."""
    snaps, logs = listing(data_dir)
    base = max(snaps, default=0)
    return snaps.get(base), [logs[s] for s in sorted(logs) if s >= base]


def check(data_dir: Path) -> list[FileScan]:
    """Scan every file the store would read, in replay order."""
    snap, logs = chain_files(data_dir)
    scans = []
    for path in [snap, *logs]:
        if path is None:
            continue
        try:
            scans.append(scan(path, snapshot=path is snap))
        except FileNotFoundError:
            continue  # a running bot's compaction removed it meanwhile: nothing to check
    return scans


@dataclass
class Moved:
    """Records moved out of the store by a repair."""

    source: Path
    aside: Path
    records: int  # records (the damaged one included) that were moved
    bytes: int
    kept: int  # records of the source kept in place
    documents: int | None = None  # for a snapshot: the documents it still holds
    tables: Counter[str] = field(default_factory=Counter)  # intact moved records by table


def repair(data_dir: Path, now: datetime | None = None) -> list[Moved]:
    """Cut the store at its first damage, moving what follows aside; [] if there is none.

    Raises StoreLocked while the bot (or another command) holds the DATA_DIR.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    with locked(data_dir):
        scans = check(data_dir)
        first = next((i for i, s in enumerate(scans) if s.damage is not None), None)
        if first is None:
            return []
        damaged = scans[first]
        is_snapshot = first == 0 and damaged.path.name.startswith("snap-")
        moved = [_cut_snapshot(damaged, stamp) if is_snapshot else _cut_log(damaged, stamp)]
        for later in scans[first + 1 :]:
            aside = _aside_name(later.path, stamp)
            tables = tables_in(later.path.read_bytes())
            os.replace(later.path, aside)
            moved.append(Moved(later.path, aside, later.records, later.size, 0, None, tables))
        fsync_dir(data_dir)
    return moved


def _aside_name(path: Path, stamp: str) -> Path:
    return path.with_name(f"{path.name}.damaged-{stamp}")


def _write(path: Path, data: bytes) -> None:
    with open_private(path, exclusive=True) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _cut_log(damaged: FileScan, stamp: str) -> Moved:
    """Move a segment's bytes from the damage on into a file beside it, then truncate it."""
    assert damaged.damage is not None
    data = damaged.path.read_bytes()
    aside = _aside_name(damaged.path, stamp)
    _write(aside, data[damaged.damage :])
    with open(damaged.path, "r+b") as f:
        f.truncate(damaged.damage)
        f.flush()
        os.fsync(f.fileno())
    tables = tables_in(data[damaged.damage :])
    moved = len(data) - damaged.damage
    return Moved(damaged.path, aside, damaged.after + 1, moved, damaged.records, None, tables)


def _cut_snapshot(damaged: FileScan, stamp: str) -> Moved:
    """Rewrite a snapshot from its whole records before the damage; keep the original aside."""
    assert damaged.damage is not None
    data = damaged.path.read_bytes()
    lines = data[: damaged.damage].splitlines(keepends=True)
    records = [loads(decode_line(line) or b"[]") for line in lines]
    if records and records[-1][:2] == ["", "end"]:
        lines, records = lines[:-1], records[:-1]
    if records and records[-1][1:2] == ["ids"]:
        lines, records = lines[:-1], records[:-1]  # its documents were in the damage
    aside = _aside_name(damaged.path, stamp)
    lost = damaged.records + damaged.after + 1 - len(lines)
    if not records or records[0][:2] != ["", "snap"]:
        os.replace(damaged.path, aside)  # nothing usable before the damage
        return Moved(damaged.path, aside, lost, len(data), 0, 0, tables_in(data))
    docs = sum(len(r[2]) for r in records if r[1] == "ids")
    end = encode_line(dumps(["", "end", {"docs": docs, "repaired": stamp}]))
    tmp = damaged.path.with_name(damaged.path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    _write(tmp, b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines) + end)
    os.replace(damaged.path, aside)
    os.replace(tmp, damaged.path)
    tables = tables_in(data[damaged.damage :])
    return Moved(damaged.path, aside, lost, len(data) - damaged.damage, len(lines), docs, tables)
