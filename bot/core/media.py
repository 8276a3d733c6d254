"""Photos kept by another platform (a Telegram file_id...) copied into DATA_DIR/media on demand.

Channels register how to fetch their own refs; public pages and exports then show every photo
the same way, whatever app the farmer sent it from.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.private_files import write_private

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[bytes]]
MAX_PHOTO_BYTES = 10 * 1024 * 1024


class MediaStore:
    """Local copies of photos, by their ref ("media:<file>", "tg:<file_id>", ...)."""

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir
        self._fetchers: dict[str, Fetch] = {}

    def register(self, prefix: str, fetch: Fetch) -> None:
        """Let refs starting with `prefix` (e.g. "tg:") be fetched by `fetch(ref without it)`."""
        self._fetchers[prefix] = fetch

    async def local_file(self, ref: str) -> Path | None:
        """The local file of a photo, fetched and cached the first time; None if unavailable."""
        if ref.startswith("media:"):
            name = ref.removeprefix("media:")
            path = self.media_dir / name
            ok = "/" not in name and not name.startswith(".") and path.is_file()
            return path if ok else None
        prefix = next((p for p in self._fetchers if ref.startswith(p)), None)
        if prefix is None:
            return None
        path = self.media_dir / f"cache-{hashlib.sha256(ref.encode()).hexdigest()[:32]}.jpg"
        if path.is_file():
            return path
        try:
            data = await self._fetchers[prefix](ref[len(prefix) :])
        except Exception:
            log.warning("could not fetch photo %s", ref, exc_info=True)
            return None
        if not data or len(data) > MAX_PHOTO_BYTES:
            return None
        write_private(path, data)  # never a half-written photo under the final name
        return path
