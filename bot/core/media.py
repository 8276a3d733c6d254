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
# Files made for one user are named <prefix><owner tag>-..., so deleting the user finds them.
DOC_PREFIX = "doc-"  # published as download links (exports)
UPLOAD_PREFIX = "up-"  # photos uploaded in the web chat
OWNED_PREFIXES = (DOC_PREFIX, UPLOAD_PREFIX)


def owner_tag(user_key: str) -> str:
    """A short tag of the user a file was made for (not their key: names are public links)."""
    return hashlib.sha256(f"owner:{user_key}".encode()).hexdigest()[:12]


def thumb_name(ref: str) -> str:
    """The media file name of a photo's small copy on the market page (bot/services/thumbs)."""
    return f"thumb-{hashlib.sha256(ref.encode()).hexdigest()[:24]}.jpg"


def owned_name(prefix: str, user_key: str, rest: str) -> str:
    """The file name of something made for `user_key`, e.g. owned_name(UPLOAD_PREFIX, k, x)."""
    return f"{prefix}{owner_tag(user_key)}-{rest}"


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

    def forget_owned(self, owner_keys: Iterable[str]) -> int:
        """Delete the files made for these users (uploads, exports); return how many."""
        patterns = [
            owned_name(prefix, key, "*") for key in owner_keys for prefix in OWNED_PREFIXES
        ]
        removed = 0
        for path in [p for pattern in patterns for p in self.media_dir.glob(pattern)]:
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
