"""How much MEDIA_DIR grows per listing: photos as kept after re-encoding, thumbnails, QR codes.

A farmer's photo reaches MEDIA_DIR decoded and re-encoded (bot/web/photos.py: JPEG, at most
1600 px, quality 85), whatever the phone sent; the market page adds a thumbnail of at most
20 KB per photo shown (bot/services/thumbs.py), and a listing's QR code is a PNG. This bench
measures those sizes on phone-sized photos and prints what 1,000 listings take.

Photos: give real ones as arguments (JPEG/PNG/WebP files), or the bench makes 12 synthetic
12-megapixel photos of fields and fruit: several octaves of smooth noise (the 1/f spectrum of
natural scenes) with fine grain on top, saved as a phone saves them (JPEG quality 92). Real
photos are the better measure: synthetic ones have no flat sky or blurred background, so they
err on the large side.

    .venv/bin/python bench/media_size.py [PHOTO ...]
"""

from __future__ import annotations

import io
import json
import random
import statistics
import sys
from pathlib import Path

from PIL import Image, ImageChops

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.listings import PHOTOS_MAX
from bot.services.share import qr_png
from bot.services.thumbs import thumbnail
from bot.web.photos import reencode

SIZE = (4000, 3000)  # a 12 MP phone camera
SYNTHETIC = 12
KB = 1024


def synthetic_photo(seed: int) -> bytes:
    """A phone-sized JPEG with a natural image's mix of broad shapes and fine detail."""
    rng = random.Random(seed)
    channels = []
    for _channel in range(3):
        layer = Image.new("L", SIZE, rng.randint(60, 180))
        for octave, weight in ((8, 0.45), (32, 0.25), (128, 0.15), (512, 0.1), (2000, 0.05)):
            noise = Image.effect_noise((octave, octave * 3 // 4), 64 + rng.randint(0, 32))
            noise = noise.resize(SIZE, Image.Resampling.BICUBIC)
            layer = Image.blend(layer, noise, weight / (weight + 0.5))
        grain = Image.effect_noise(SIZE, 6)
        channels.append(ImageChops.add(layer, grain, scale=1.0, offset=-128))
    photo = Image.merge("RGB", channels)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92)
    return out.getvalue()


def main(paths: list[str]) -> None:
    sources = [Path(p).read_bytes() for p in paths] or [
        synthetic_photo(i) for i in range(SYNTHETIC)
    ]
    kept, thumbs, sent = [], [], []
    for data in sources:
        clean = reencode(data)
        if clean is None:
            print("skipped a file that is not a readable photo", file=sys.stderr)
            continue
        sent.append(len(data))
        kept.append(len(clean))
        small = thumbnail(clean)
        thumbs.append(len(small) if small else 0)
    qr = len(qr_png("https://nongdanso.example.vn/p/na-chi-lang-loai-1-ab12"))
    photo_kb = statistics.mean(kept) / KB
    thumb_kb = statistics.mean(thumbs) / KB
    per_listing = {n: n * (photo_kb + thumb_kb) + qr / KB for n in (1, 3, PHOTOS_MAX)}
    result = {
        "photos": len(kept),
        "source": "files" if paths else "synthetic",
        "sent_kb_mean": round(statistics.mean(sent) / KB, 1),
        "kept_kb_mean": round(photo_kb, 1),
        "kept_kb_max": round(max(kept) / KB, 1),
        "thumb_kb_mean": round(thumb_kb, 1),
        "qr_kb": round(qr / KB, 1),
        "mb_per_1000_listings": {
            str(n): round(kb * 1000 / KB, 1) for n, kb in per_listing.items()
        },
    }
    print(
        f"{result['photos']} {result['source']} photos: sent {result['sent_kb_mean']} KB on "
        f"average, kept {result['kept_kb_mean']} KB after re-encoding "
        f"(largest {result['kept_kb_max']} KB); thumbnail {result['thumb_kb_mean']} KB; "
        f"QR code {result['qr_kb']} KB"
    )
    for n, mb in result["mb_per_1000_listings"].items():
        print(f"1,000 listings with {n} photo(s) each: {mb} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
