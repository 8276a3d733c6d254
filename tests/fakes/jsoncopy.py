"""A deep copy of JSON data, as a server would hand out: several times faster than deepcopy."""

from __future__ import annotations

from typing import Any

import orjson


def json_copy(value: Any) -> Any:
    """A fresh copy of JSON-shaped data (dicts, lists, strings, numbers, booleans, None)."""
    return orjson.loads(orjson.dumps(value))
