"""Uploaded photos made safe to keep: decoded for real, metadata dropped, downscaled, JPEG."""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

MAX_SIDE = 1600  # plenty for a product photo on a phone; ~200-400 KB as JPEG
MAX_PIXELS = 50_000_000  # larger claims are refused before decoding (a 48 MP phone fits)
FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
QUALITY = 85

# Pillow refuses twice this outright; between 1x and 2x it only warns, and reencode() refuses
# by size. The warning would say nothing the refusal does not (and catching it per call is not
# thread-safe), so it is silenced once.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def reencode(data: bytes) -> bytes | None:
    """The photo as a clean JPEG at most MAX_SIDE px; None if it is not a photo we can read."""
    try:
        with Image.open(io.BytesIO(data), formats=sorted(FORMATS)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or not width or not height:
                return None
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
            image.load()
            upright = ImageOps.exif_transpose(image)  # keep the way it was held
        if upright.mode not in ("RGB", "L"):
            rgba = upright.convert("RGBA")
            upright = Image.new("RGB", rgba.size, (255, 255, 255))
            upright.paste(rgba, mask=rgba.getchannel("A"))
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        upright.convert("RGB").save(out, "JPEG", quality=QUALITY, optimize=True)
        return out.getvalue()
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError) as exc:
        log.info("refused an upload that is not a readable photo: %s", type(exc).__name__)
        return None
