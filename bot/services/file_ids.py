"""Telegram's file_id of each photo of ours it was sent once (uploads, QR codes, Zalo photos).

Kept in the store, not in memory: after a restart a photo still goes by its file_id, never
uploaded twice. A ref's key carries the file's size and change time, so a rewritten file (a
QR code for a new address) is uploaded again.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.db import Store


class FileIds:
    """Photo ref (versioned) -> the platform's file_id."""

    def __init__(self, store: Store, media_dir: Path) -> None:
        self._store = store
        self._table = store.table("file_ids", indexes=("key",))
        self._media_dir = media_dir

    def key(self, ref: str) -> str:
        """The cache key of a photo ref ("" when it cannot be cached)."""
        if ref.startswith(("https://", "http://")):
            return ref
        if not ref.startswith("media:"):
            return ""
        name = ref.removeprefix("media:")
        path = self._media_dir / name
        if "/" in name or name.startswith("."):
            return ""
        try:
            stat = path.stat()
        except OSError:
            return ""
        return f"{ref}@{stat.st_mtime_ns}:{stat.st_size}"

    def get(self, key: str) -> str:
        """The file_id sent for this key before, or ""."""
        docs = self._store.find(self._table, "key", key) if key else []
        return str(docs[0].get("file_id", "")) if docs else ""

    def put(self, key: str, file_id: str) -> None:
        """Remember the file_id Telegram gave a photo."""
        if key and file_id and not self.get(key):
            self._table.insert({"key": key, "file_id": file_id})
