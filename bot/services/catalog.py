"""Editable lists from content/: Lạng Sơn's communes and wards, and local specialties.

Both are matched loosely: "chi lang", "x. Chi Lăng" and "Xã Chi Lăng" find the same area.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from bot.text import fold

log = logging.getLogger(__name__)

# Words people put before a place name; they carry no meaning for matching.
DISTRICT_WEIGHT = 0.85
# Every typed word is a word of the name ("hong" in "hồng không hạt"): likely, not certain.
CONTAINED_SCORE = 88.0
_PLACE_PREFIXES = ("xa ", "x ", "phuong ", "p ", "thi tran ", "tt ", "huyen ", "h ")


@dataclass(frozen=True)
class Entry:
    """A named thing from content/ (an area or a product)."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        """A further field of the content entry (e.g. 'default_unit', 'hashtags')."""
        return dict(self.extra).get(key, default)


@dataclass(frozen=True)
class Match:
    """A candidate entry and how sure the match is (0–100)."""

    entry: Entry
    score: float


def _strip_prefix(folded: str) -> str:
    for prefix in _PLACE_PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix) :]
    return folded


class Directory:
    """A list of entries loaded from a YAML file, matched by any spelling."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self._by_id = {e.id: e for e in entries}
        self._keys: list[str] = []
        self._owners: list[Entry] = []
        self._weights: list[float] = []
        for entry in entries:
            for name in {entry.name, *entry.aliases}:
                self._add_key(name, entry, 1.0)
            district = dict(entry.extra).get("former_district")
            if isinstance(district, str) and district:
                # People still name their former district; it suggests, never decides alone.
                self._add_key(district, entry, DISTRICT_WEIGHT)

    def _add_key(self, name: str, entry: Entry, weight: float) -> None:
        self._keys.append(_strip_prefix(fold(name)))
        self._owners.append(entry)
        self._weights.append(weight)

    @classmethod
    def from_yaml(cls, path: Path) -> Directory:
        """Load entries from a YAML list of mappings with at least id and name."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except (OSError, yaml.YAMLError) as exc:
            log.error("cannot load %s: %s", path, exc)
            return cls([])
        entries = []
        for item in raw:
            if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
                log.error("%s: skipped an entry without id and name: %r", path, item)
                continue
            aliases = tuple(str(a) for a in item.get("aliases") or ())
            extra = tuple(
                (k, tuple(v) if isinstance(v, list) else v)
                for k, v in item.items()
                if k not in ("id", "name", "aliases")
            )
            entries.append(Entry(str(item["id"]), str(item["name"]), aliases, extra))
        return cls(entries)

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id."""
        return self._by_id.get(entry_id)

    def name(self, entry_id: str) -> str:
        """Display name of an id, or the id itself when it is free text."""
        entry = self._by_id.get(entry_id)
        return entry.name if entry else entry_id

    def match(self, text: str, limit: int = 3) -> list[Match]:
        """The best candidates for what the user typed, most likely first."""
        typed = _strip_prefix(fold(text))
        if not typed or not self._keys:
            return []
        found = process.extract(typed, self._keys, scorer=fuzz.ratio, limit=limit * 6)
        words = set(typed.split())
        found += [
            (key, CONTAINED_SCORE, index)
            for index, key in enumerate(self._keys)
            if words <= set(key.split())
        ]
        best: dict[str, Match] = {}
        for _key, raw, index in found:
            entry, score = self._owners[index], raw * self._weights[index]
            if entry.id not in best or best[entry.id].score < score:
                best[entry.id] = Match(entry, float(score))
        return sorted(best.values(), key=lambda m: -m.score)[:limit]

    def exact(self, text: str) -> Entry | None:
        """The entry whose name or alias is exactly what was typed (any diacritics/case)."""
        typed = _strip_prefix(fold(text))
        for key, owner, weight in zip(self._keys, self._owners, self._weights, strict=True):
            if key == typed and weight == 1.0:
                return owner
        return None
