"""Photos kept by another platform (a Telegram file_id...) copied into DATA_DIR/media on demand.

Channels register how to fetch their own refs; public pages and exports then show every photo
the same way, whatever app the farmer sent it from.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from bot.private_files import write_private

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[bytes]]
MAX_PHOTO_BYTES = 10 * 1024 * 1024
DOC_PREFIX = "doc-"  # files published as download links: doc-<owner tag>-<random>-<name>


def owner_tag(user_key: str) -> str:
    """A short tag of the user a published file was made for, so their deletion finds it."""
    return hashlib.sha256(f"owner:{user_key}".encode()).hexdigest()[:12]


class MediaStore:
    """Local copies of photos, by their ref ("media:<file>", "tg:<file_id>", ...)."""

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir
        self._fetchers: dict[str, Fetch] = {}

    def register(self, prefix: str, fetch: Fetch) -> None:
        """Let refs starting with `prefix` (e.g. "tg:") be fetched by `fetch(ref without it)`."""
        self._fetchers[prefix] = fetch

    def cache_path(self, ref: str) -> Path:
        """Where the local copy of another platform's photo is (or would be) kept."""
        return self.media_dir / f"cache-{hashlib.sha256(ref.encode()).hexdigest()[:32]}.jpg"

    def forget(self, refs: Iterable[str]) -> int:
        """Delete the local files of these photos (uploads and cached copies); return how many."""
        removed = 0
        for ref in refs:
            if ref.startswith("media:"):
                path = self.media_dir / ref.removeprefix("media:")
                if path.parent != self.media_dir or path.name.startswith("."):
                    continue  # never follow a crafted "media:../x" out of the directory
            else:
                path = self.cache_path(ref)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed

    def forget_documents(self, owner_keys: Iterable[str]) -> int:
        """Delete the files published for these users (exports sent as links); return how many."""
        removed = 0
        for key in owner_keys:
            for path in self.media_dir.glob(f"{DOC_PREFIX}{owner_tag(key)}-*"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        return removed

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
        path = self.cache_path(ref)
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
