"""The store: the embedded one in DATA_DIR, or PostgreSQL when DATABASE_URL names one.

Nothing is imported here at load time: the compaction child runs `python -m
bot.storage.compact`, which must not find its own module imported by the package first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.storage.db import Store


def open_store(data_dir: Path, database_url: str = "") -> Store:
    """Open the store the settings name (PostgreSQL's driver is imported only when used)."""
    if database_url:
        from bot.storage.pg import PgStore

        return PgStore(database_url, data_dir)
    from bot.storage.db import Store

    return Store(data_dir)
