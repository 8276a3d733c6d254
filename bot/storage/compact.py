"""Compaction in a child process: fold a snapshot and its segments before N into `snap-N`.

A child has its own interpreter, so serialising the whole store never holds the bot's GIL, and
it reads the same files a restart would, so it needs nothing from the bot's memory. It dies with
the bot (PR_SET_PDEATHSIG), so it never writes into a DATA_DIR another process has opened since.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.private_files import UMASK
from bot.storage.engine import LogStorage
from bot.storage.files import remove_before, snap_path, write_snapshot

_PR_SET_PDEATHSIG = 1


def compact(data_dir: Path, seq: int, indexes: Mapping[str, Sequence[str]] | None = None) -> int:
    """Write `snap-seq` from the files before segment `seq`; return its document count.

    The snapshot saves the indexes the previous one had plus `indexes` (table -> fields).
    """
    state = LogStorage(data_dir, read_only=True, upto=seq)
    add_indexes(state, indexes or {})
    count = write_snapshot(snap_path(data_dir, seq), state.freeze(), state.schema)
    remove_before(data_dir, seq)
    return count


def add_indexes(state: LogStorage, indexes: Mapping[str, Sequence[str]]) -> None:
    """Build the named indexes of the tables that exist (not creating empty ones)."""
    for name, fields in indexes.items():
        if name in state.tables:
            state.tables[name].add_indexes(fields)


def main() -> None:
    """Entry point of the child: DATA_DIR SEQ PARENT_PID [INDEXES as JSON]."""
    data_dir, seq, parent = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    os.umask(UMASK)
    indexes = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit(3)  # the bot died before the signal was armed
    compact(data_dir, seq, indexes)


if __name__ == "__main__":
    main()
