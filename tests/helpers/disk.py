"""Look through every byte of a DATA_DIR for personal values that must be gone."""

from __future__ import annotations

import gzip
import json
import unicodedata
import zlib
from pathlib import Path

from bot.text import fold


def forms(value: str) -> list[bytes]:
    """The ways a value may sit in a file: as typed (NFC and NFD), JSON-escaped, folded."""
    texts = {value, unicodedata.normalize("NFC", value), unicodedata.normalize("NFD", value)}
    found = {t.encode() for t in texts}
    found |= {json.dumps(t)[1:-1].encode() for t in texts}  # "\u1eadn"-style escapes
    if any(ord(c) > 127 for c in value):
        found.add(fold(value).encode())
    return sorted(found)


def phone_forms(local: str) -> list[str]:
    """A Vietnamese mobile number (0XXXXXXXXX) as it may be typed, stored or shown."""
    digits = local.removeprefix("0")
    spaced = f"{local[:4]} {local[4:7]} {local[7:]}"
    return [local, f"+84{digits}", f"84{digits}", digits, spaced, spaced.replace(" ", ".")]


def _decoded(data: bytes) -> bytes:
    """The file's bytes, decompressed as well when it is gzip or zlib data."""
    if data[:2] == b"\x1f\x8b":
        return data + gzip.decompress(data)
    if data[:1] == b"\x78":
        try:
            return data + zlib.decompress(data)
        except zlib.error:
            return data
    return data


def leaks(data_dir: Path, needles: dict[str, list[bytes]]) -> list[str]:
    """Where each needle shows up: in any file (decompressed too) or file name under the dir."""
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = _decoded(path.read_bytes())
        name = str(path.relative_to(data_dir)).encode()
        for label, values in needles.items():
            for value in values:
                if value in data or value in name:
                    found.append(f"{label} {value!r} in {path.relative_to(data_dir)}")
    return found
