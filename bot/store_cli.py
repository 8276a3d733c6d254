"""`python -m bot store check|repair`: find damage in DATA_DIR's files, and cut it out."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.storage.check import check, repair
from bot.storage.errors import StoreLocked


def run_store(data_dir: Path, action: str) -> int:
    """Run `check` (exit 1 on damage) or `repair` (exit 0 once the store is whole again)."""
    if not data_dir.is_dir():
        print(f"nongdanso: no DATA_DIR at {data_dir}", file=sys.stderr)
        return 2
    if action == "check":
        return _check(data_dir)
    try:
        moved = repair(data_dir)
    except StoreLocked:
        print(
            f"nongdanso: the bot is running on {data_dir}; stop it before a repair",
            file=sys.stderr,
        )
        return 2
    if not moved:
        print(f"{data_dir}: no damage found, nothing changed")
        return 0
    for m in moved:
        if m.kept == 0 and m is not moved[0]:
            what = f"written after the damage: moved aside whole ({_n(m.records, 'record')})"
        else:
            what = (
                f"kept {_n(m.kept, 'record')} before the damage; moved "
                f"{_n(m.records, 'record')} ({m.bytes} bytes, the damaged one included)"
            )
            if m.documents is not None:
                what += f"; the snapshot now holds {_n(m.documents, 'document')}"
        if m.tables:
            what += "; intact ones moved, by table: " + ", ".join(
                f"{name} {count}" for name, count in m.tables.most_common()
            )
        print(f"{m.source.name}: {what} -> {m.aside.name}")
    lost = sum(m.records for m in moved)
    print(
        f"repaired: the store opens again; {lost} records were moved out of it and are kept "
        "in the files named above"
    )
    return 0 if _check(data_dir, quiet=True) == 0 else 1


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _check(data_dir: Path, *, quiet: bool = False) -> int:
    damaged = False
    for s in check(data_dir):
        if s.damage is not None:
            damaged = True
            print(
                f"{s.path.name}: DAMAGED at byte {s.damage} ({s.reason}): "
                f"{_n(s.records, 'whole record')} before it, "
                f"{_n(s.after, 'intact record')} after it"
            )
        elif not quiet:
            torn = f"; a torn tail of {s.torn} bytes is dropped on open" if s.torn else ""
            print(f"{s.path.name}: ok, {_n(s.records, 'record')}, {s.size} bytes{torn}")
    if damaged:
        print(
            "run `python -m bot store repair` with the bot stopped (copy DATA_DIR first): it "
            "keeps everything before the damage and moves the rest aside"
        )
    return 1 if damaged else 0
