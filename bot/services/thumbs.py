"""Small JPEG thumbnails of listing photos for the market page: each at most 20 KB."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.private_files import write_private

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024
SIDES = (320, 240, 160)  # the longest side tried, largest first
QUALITIES = (72, 60, 48, 36)
Image.MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


def thumbnail(data: bytes) -> bytes | None:
    """A JPEG of at most MAX_BYTES showing the image, or None if it is no readable image."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")  # phones store it turned
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    for side in SIDES:
        small = image.copy()
        small.thumbnail((side, side))
        for quality in QUALITIES:
            out = io.BytesIO()
            small.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
            if out.tell() <= MAX_BYTES:
                return out.getvalue()
    return None


def write_thumbnail(source: Path, dest: Path) -> bool:
    """Make `dest` the thumbnail of the photo at `source`; whether it could."""
    try:
        data = source.read_bytes()
    except OSError:
        return False
    thumb = thumbnail(data)
    if thumb is None:
        log.info("no thumbnail for %s: not a readable image", source.name)
        return False
    write_private(dest, thumb)  # a reader never sees half a file, even on a shared MEDIA_DIR
    return True
