"""Editable lists from content/: Lạng Sơn's communes and wards, and local specialties.

Both are matched loosely: "chi lang", "x. Chi Lăng" and "Xã Chi Lăng" find the same area.
"""

from __future__ import annotations

import logging
import re
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
FORMER_WEIGHT = 0.9  # a name from before the merger: a current name typed exactly wins clearly
DISTRICT_PENALTY = 20.0  # "… huyện Chi Lăng" after a commune: units elsewhere fall behind
DISTRICT_LIST_SCORE = 80.0  # a former district alone: each of its units is possible, none sure
_FORMER_UNIT = re.compile(
    r"^(?P<name>[^(]+?)\s*(?:\((?:huyện|thành phố|thị xã)?\s*(?P<district>[^)]+)\))?$"
)
_DISTRICT_ONLY = re.compile(r"^(?:huyen|h|thanh pho|tp)\s+(?P<district>.+)$")
_DISTRICT_AFTER = re.compile(r"\s(?:huyen|h|thanh pho|tp)\s+(?P<district>.+)$")
_PLACE_PREFIXES: tuple[str, ...] = ("xa ", "x ", "phuong ", "p ", "thi tran ", "tt ", "huyen ")
_PLACE_PREFIXES += ("h ", "thanh pho ", "tp ")


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
        self._districts: dict[str, list[Entry]] = {}  # folded former district -> its units
        self._key_districts: list[str] = []
        for entry in entries:
            extra = dict(entry.extra)
            district = extra.get("former_district")
            home = fold(district) if isinstance(district, str) else ""
            for name in {entry.name, *entry.aliases}:
                self._add_key(name, entry, 1.0, home)
            for unit in extra.get("former_units") or ():
                # "xã Mai Sao (huyện Chi Lăng)": a name from before the 2025 merger.
                m = _FORMER_UNIT.match(str(unit))
                if m is not None:
                    self._add_key(m["name"], entry, FORMER_WEIGHT, fold(m["district"] or home))
            if home:
                # People still name their former district; it suggests, never decides alone.
                self._add_key(str(district), entry, DISTRICT_WEIGHT, home)
                others = extra.get("other_former_districts") or ()
                for name in {home, *(fold(str(o)) for o in others)}:
                    self._districts.setdefault(_strip_prefix(name), []).append(entry)

    def _add_key(self, name: str, entry: Entry, weight: float, district: str = "") -> None:
        self._keys.append(_strip_prefix(fold(name)))
        self._owners.append(entry)
        self._weights.append(weight)
        self._key_districts.append(_strip_prefix(district))

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

    def in_district(self, name: str) -> list[Entry]:
        """The units a former district became ("huyện Chi Lăng" → its communes)."""
        return list(self._districts.get(_strip_prefix(fold(name)), []))

    def match(self, text: str, limit: int = 3) -> list[Match]:
        """The best candidates for what the user typed, most likely first.

        "xã Chi Lăng huyện Chi Lăng" weighs the commune by its former district; "huyện Chi
        Lăng" alone lists every unit that district became (none of them is sure).
        """
        folded = fold(text)
        district_only = _DISTRICT_ONLY.match(folded)
        if district_only is not None:
            members = self.in_district(district_only["district"])
            if members:
                return [Match(e, DISTRICT_LIST_SCORE) for e in members]
        split = _DISTRICT_AFTER.search(folded)
        if split is not None and split.start() > 0:
            district = _strip_prefix(split["district"])
            found = self._match(folded[: split.start()], limit * 3)
            ranked = [
                m if self._in(m.entry, district) else Match(m.entry, m.score - DISTRICT_PENALTY)
                for m in found
            ]
            return sorted(ranked, key=lambda m: -m.score)[:limit]
        return self._match(folded, limit)

    def _in(self, entry: Entry, district: str) -> bool:
        return entry in self._districts.get(district, ())

    def _match(self, text: str, limit: int) -> list[Match]:
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
