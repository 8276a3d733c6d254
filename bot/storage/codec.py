"""JSON for the store's files: orjson when installed (several times faster), else json."""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the plain json module gives the same bytes, slower
    orjson = None  # type: ignore[assignment]


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (Vietnamese letters stay readable in the files)."""
    if orjson is not None:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> Any:
    """Decode JSON bytes."""
    if orjson is not None:
        return orjson.loads(data)
    return json.loads(data)
