"""Bring a running deployment's FAQ up to date with the seed file, never over an admin's edits.

The seed (content/faq.csv) is loaded into the store once; admins own the stored entries from
then on. Each stored entry remembers the hash of the seed row it came from (`seed_hash`), so an
update can tell: a seed row that is new (added, unless an admin deleted that entry), a seed row
that changed (listed for an admin to accept, with whether the admin had edited the entry),
and everything else (left alone). Entries seeded before hashes were kept are recognised by the
hashes of the seed versions shipped before then, frozen in content/faq_seed_history.json (a
key listed there was seeded then: missing from a store now means an admin deleted it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services.faq import DuplicateQuestion
from bot.services.faq_csv import FaqCsvError, FaqRow, read_csv

if TYPE_CHECKING:
    from bot.services.faq import FaqEntry, FaqRepo

log = logging.getLogger(__name__)

HISTORY_NAME = "faq_seed_history.json"


def content_hash(question: str, answer: str, alternatives: list[str], tags: list[str]) -> str:
    """A short fingerprint of an entry's content (what an admin can edit)."""
    data = json.dumps([question, answer, alternatives, tags], ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def row_hash(row: FaqRow) -> str:
    """The fingerprint of a seed row."""
    return content_hash(row.question, row.answer, row.alternatives, row.tags)


def entry_hash(entry: FaqEntry) -> str:
    """The fingerprint of a stored entry as it is now."""
    return content_hash(entry.question, entry.answer, entry.alternatives, entry.tags)


@dataclass(frozen=True)
class SeedChange:
    """A seed row that differs from the seed version its stored entry came from."""

    key: str
    entry_id: int
    stored: str  # the stored answer
    seed: str  # the seed's new answer
    edited: bool  # an admin changed the stored entry: accepting replaces their text


@dataclass
class SeedReport:
    """What `update` did and what waits for an admin."""

    added: list[str] = field(default_factory=list)
    changed: list[SeedChange] = field(default_factory=list)
    error: str = ""

    def summary(self) -> str:
        """One line for the command line and the log."""
        if self.error:
            return f"seed unusable: {self.error}"
        return f"added {len(self.added)}, changed in the seed {len(self.changed)} (to accept)"


class FaqSeed:
    """Compares the seed file with the stored FAQ; adds new entries, applies accepted ones."""

    def __init__(self, repo: FaqRepo, path: Path, history: Path | None = None) -> None:
        self.repo = repo
        self.path = path
        self.history_path = history if history is not None else path.with_name(HISTORY_NAME)

    def _rows(self) -> dict[str, FaqRow]:
        parsed = read_csv(self.path)
        return {row.key: row for row in parsed.rows if row.key}

    def _history(self) -> dict[str, list[str]]:
        """Past seed versions: key -> the hashes its row ever had."""
        try:
            data = json.loads(self.history_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): [str(h) for h in v] for k, v in data.items() if isinstance(v, list)}

    def _from_seed(self, entry: FaqEntry, history: dict[str, list[str]]) -> str:
        """The seed hash an entry came from ("" when unknown: treat it as an admin's)."""
        if entry.seed_hash:
            return entry.seed_hash
        past = history.get(entry.key, [])
        now = entry_hash(entry)
        if now in past:
            return now  # unedited since an old seed
        return past[0] if len(past) == 1 else ""  # edited; from the one version it had

    def update(self, now: str) -> SeedReport:
        """Add seed entries the store never had; list changed ones for an admin to accept."""
        report = SeedReport()
        try:
            rows = self._rows()
        except FaqCsvError as exc:
            report.error = str(exc)
            return report
        history = self._history()
        deleted = self.repo.deleted_keys()
        for key, row in rows.items():
            entry = self.repo.by_key(key)
            new_hash = row_hash(row)
            if entry is None:
                if key in deleted or key in history:  # an admin deleted it: theirs to decide
                    continue
                try:
                    added = self.repo.add(
                        row.question, row.answer, row.alternatives, row.tags, now, key
                    )
                except DuplicateQuestion:  # an admin already asks it in another entry
                    continue
                self.repo.mark_seeded(added, new_hash)
                report.added.append(key)
                continue
            came_from = self._from_seed(entry, history)
            if entry_hash(entry) == new_hash:
                if entry.seed_hash != new_hash:
                    self.repo.mark_seeded(entry, new_hash)  # same text either way: in step
                continue
            if came_from == new_hash:
                continue  # the seed did not change since; any difference is the admin's
            edited = not came_from or entry_hash(entry) != came_from
            report.changed.append(SeedChange(key, entry.id, entry.answer, row.answer, edited))
        log.info("FAQ seed update: %s", report.summary())
        return report

    def accept(self, keys: list[str], now: str) -> list[str]:
        """Apply the seed's version of these entries; return the keys applied."""
        try:
            rows = self._rows()
        except FaqCsvError:
            return []
        applied = []
        for key in keys:
            row, entry = rows.get(key), self.repo.by_key(key)
            if row is None or entry is None:
                continue
            entry.question, entry.answer = row.question, row.answer
            entry.alternatives, entry.tags, entry.updated_at = row.alternatives, row.tags, now
            entry.seed_hash = row_hash(row)
            try:
                self.repo.save(entry)
            except DuplicateQuestion:
                continue
            applied.append(key)
        log.info("FAQ seed entries accepted: %s", ", ".join(applied) or "none")
        return applied
