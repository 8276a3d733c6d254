"""The store: the embedded one in DATA_DIR, or PostgreSQL when DATABASE_URL names one."""

from __future__ import annotations

from pathlib import Path

from bot.storage.db import Store


def open_store(data_dir: Path, database_url: str = "") -> Store:
    """Open the store the settings name (PostgreSQL's driver is imported only when used)."""
    if database_url:
        from bot.storage.pg import PgStore

        return PgStore(database_url, data_dir)
    return Store(data_dir)
