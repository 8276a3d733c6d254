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
        for entry in entries:
            names = {entry.name, *entry.aliases}
            extra_names = dict(entry.extra).get("former_district")
            for name in names:
                self._keys.append(_strip_prefix(fold(name)))
                self._owners.append(entry)
            if isinstance(extra_names, str) and extra_names:
                # A former district name alone is ambiguous; it only helps the full name match.
                self._keys.append(_strip_prefix(fold(f"{entry.name} {extra_names}")))
                self._owners.append(entry)

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
        found = process.extract(typed, self._keys, scorer=fuzz.WRatio, limit=limit * 4)
        best: dict[str, Match] = {}
        for _key, score, index in found:
            entry = self._owners[index]
            if entry.id not in best or best[entry.id].score < score:
                best[entry.id] = Match(entry, float(score))
        return sorted(best.values(), key=lambda m: -m.score)[:limit]

    def exact(self, text: str) -> Entry | None:
        """The entry whose name or alias is exactly what was typed (any diacritics/case)."""
        typed = _strip_prefix(fold(text))
        for key, owner in zip(self._keys, self._owners, strict=True):
            if key == typed:
                return owner
        return None
