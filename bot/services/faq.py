"""FAQ entries in the store: seeded once from content/faq.csv, edited by admins, matched fast.

The matcher index lives in memory next to the table and is updated on every write, so a
running bot answers from edited or imported content at once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.services.faq_csv import FaqCsvError, FaqRow, question_key, read_csv
from bot.services.faq_match import Matcher, Result
from bot.storage.db import Store
from bot.text import fold, slug

log = logging.getLogger(__name__)


@dataclass
class FaqEntry:
    """One question with its alternative phrasings, answer, tags and 👍/👎 counts."""

    id: int = 0
    key: str = ""  # stable name, e.g. "postmart-la-gi"
    question: str = ""
    answer: str = ""
    alternatives: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    up: int = 0
    down: int = 0
    updated_at: str = ""
    seed_hash: str = ""  # the seed row this entry came from (bot.services.faq_seed)

    @property
    def phrasings(self) -> list[str]:
        """The question and every alternative, as the matcher indexes them."""
        return [self.question, *self.alternatives]

    def row(self) -> FaqRow:
        """The entry as a CSV row."""
        return FaqRow(
            self.question, self.answer, list(self.alternatives), list(self.tags), self.key
        )


@dataclass
class ImportReport:
    """What an import changed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line and the log."""
        text = f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}"
        return text + (f", {len(self.errors)} bad row(s) skipped" if self.errors else "")


class DuplicateQuestion(ValueError):
    """Another entry already has this question."""


class FaqRepo:
    """Stored FAQ entries, their votes, and the matcher over them."""

    def __init__(self, store: Store, seed: Path | None = None) -> None:
        self._table = store.table("faq", indexes=("key", "qkey"))
        self._votes = store.table("faq_votes", indexes=("vkey", "user"))
        self._meta = store.table("faq_meta")
        self._store = store
        self.seed_path = seed
        with store.startup_lock("faq-seed"):  # processes starting together seed once
            self._entries = {d.doc_id: _entry(dict(d), d.doc_id) for d in self._table.all()}
            self.matcher = Matcher((e.id, e.phrasings) for e in self._entries.values())
            for entry in self._entries.values():
                self.matcher.add_words(entry.answer)
            if seed is not None and not any(d.get("seeded") for d in self._meta.all()):
                self._seed(seed)
        store.on_change("faq", self._changed_elsewhere)

    def _changed_elsewhere(self, ids: list[int]) -> None:
        """Entries another process added, edited or deleted: the same in this one's matcher."""
        for entry_id in ids:
            doc = self._table.by_id(entry_id)
            if doc is None:
                self._entries.pop(entry_id, None)
                self.matcher.drop(entry_id)
            else:
                entry = self._entries[entry_id] = _entry(dict(doc), entry_id)
                self.matcher.put(entry_id, entry.phrasings)
                self.matcher.add_words(entry.answer)

    def _seed(self, path: Path) -> None:
        """Load the seed content once; after that admins own the content (even deleting it)."""
        try:
            parsed = read_csv(path)
        except FaqCsvError as exc:
            log.error("FAQ seed %s unusable: %s", path, exc)
            return
        for error in parsed.errors:
            log.warning("FAQ seed %s: %s", path, error)
        self.import_rows(parsed.rows, now="")
        from bot.services.faq_seed import row_hash  # (imports this module)

        for row in parsed.rows:
            entry = self.by_key(row.key) if row.key else None
            if entry is not None:
                self.mark_seeded(entry, row_hash(row))
        self._meta.insert({"seeded": path.name})

    def __len__(self) -> int:
        return len(self._entries)

    def all(self) -> list[FaqEntry]:
        """Every entry, in the order they were added."""
        return sorted(self._entries.values(), key=lambda e: e.id)

    def get(self, entry_id: int) -> FaqEntry | None:
        """The entry with this id, if any."""
        return self._entries.get(entry_id)

    def match(self, text: str) -> Result:
        """What the matcher makes of a question."""
        return self.matcher.match(text)

    def search(self, text: str, limit: int = 8) -> list[FaqEntry]:
        """Entries for an admin's search: words in the question first, then close matches."""
        typed = fold(text)
        found = [e for e in self.all() if typed and typed in fold(" ".join(e.phrasings))]
        for hit in self.matcher.rank(text):
            entry = self._entries[hit.entry_id]
            if entry not in found and hit.score >= 0.2:
                found.append(entry)
        return found[:limit]

    def by_question(self, question: str) -> FaqEntry | None:
        """The entry whose question is this one (ignoring accents, case, punctuation)."""
        docs = self._store.find(self._table, "qkey", question_key(question))
        return self._entries.get(docs[0].doc_id) if docs else None

    def add(
        self,
        question: str,
        answer: str,
        alternatives: list[str],
        tags: list[str],
        now: str,
        key: str = "",
    ) -> FaqEntry:
        """Store a new entry; raise DuplicateQuestion if its question exists already."""
        if self.by_question(question) is not None:
            raise DuplicateQuestion(question)
        entry = FaqEntry(
            key=self._free_key(key or slug(question)[:60] or "faq"),
            question=question,
            answer=answer,
            alternatives=alternatives,
            tags=tags,
            updated_at=now,
        )
        entry.id = self._table.insert(_doc(entry))
        self._entries[entry.id] = entry
        self.matcher.put(entry.id, entry.phrasings)
        self.matcher.add_words(entry.answer)
        return entry

    def save(self, entry: FaqEntry) -> None:
        """Write an edited entry back; raise DuplicateQuestion if the new question is taken."""
        other = self.by_question(entry.question)
        if other is not None and other.id != entry.id:
            raise DuplicateQuestion(entry.question)
        self._table.update(_doc(entry), doc_ids=[entry.id])
        self._entries[entry.id] = entry
        self.matcher.put(entry.id, entry.phrasings)
        self.matcher.add_words(entry.answer)

    def by_key(self, key: str) -> FaqEntry | None:
        """The entry with this stable key, if any."""
        docs = self._store.find(self._table, "key", key)
        return self._entries.get(docs[0].doc_id) if docs else None

    def mark_seeded(self, entry: FaqEntry, seed_hash: str) -> None:
        """Remember which seed row an entry's content came from."""
        entry.seed_hash = seed_hash
        self._table.update({"seed_hash": seed_hash}, doc_ids=[entry.id])

    def deleted_keys(self) -> set[str]:
        """Keys of entries an admin deleted: a seed update must not bring them back."""
        return {str(d["deleted_key"]) for d in self._meta.all() if d.get("deleted_key")}

    def delete(self, entry_id: int) -> None:
        """Remove an entry and its votes."""
        entry = self._entries.get(entry_id)
        if entry is not None and entry.key:
            self._meta.insert({"deleted_key": entry.key})
        self._table.remove(doc_ids=[entry_id])
        self._entries.pop(entry_id, None)
        self.matcher.drop(entry_id)

    def vote(self, entry_id: int, user_id: int, up: bool) -> bool:
        """Record a 👍 or 👎; one vote per user and entry (a changed mind moves it)."""
        entry = self._entries.get(entry_id)
        if entry is None:
            return False
        vkey = f"{entry_id}:{user_id}"
        prior = self._store.find(self._votes, "vkey", vkey)
        if prior and prior[0].get("up") == up:
            return True
        if prior:
            self._votes.update({"up": up}, doc_ids=[prior[0].doc_id])
            entry.up, entry.down = (
                (entry.up + 1, entry.down - 1) if up else (entry.up - 1, entry.down + 1)
            )
        else:
            self._votes.insert({"vkey": vkey, "user": user_id, "up": up})
            entry.up, entry.down = (entry.up + 1, entry.down) if up else (entry.up, entry.down + 1)
        self._table.update({"up": entry.up, "down": entry.down}, doc_ids=[entry_id])
        return True

    def forget_user(self, user_id: int) -> None:
        """Drop a user's votes (the counts stay: they are anonymous totals)."""
        docs = self._store.find(self._votes, "user", user_id)
        if docs:
            self._votes.remove(doc_ids=[d.doc_id for d in docs])

    def import_rows(self, rows: list[FaqRow], now: str) -> ImportReport:
        """Add or update entries from rows: same id or same question = same entry."""
        report = ImportReport()
        for row in rows:
            entry = self._for_row(row)
            if entry is None:
                self.add(row.question, row.answer, row.alternatives, row.tags, now, row.key)
                report.added += 1
                continue
            changed = (entry.question, entry.answer, entry.alternatives, entry.tags) != (
                row.question,
                row.answer,
                row.alternatives,
                row.tags,
            )
            if not changed:
                report.unchanged += 1
                continue
            other = self.by_question(row.question)
            if other is not None and other.id != entry.id:
                report.errors.append(f"line {row.line}: the same question as entry {other.key}")
                continue
            entry.question, entry.answer = row.question, row.answer
            entry.alternatives, entry.tags, entry.updated_at = row.alternatives, row.tags, now
            self.save(entry)
            report.updated += 1
        return report

    def _for_row(self, row: FaqRow) -> FaqEntry | None:
        if row.key:
            docs = self._store.find(self._table, "key", row.key)
            if docs:
                return self._entries.get(docs[0].doc_id)
        return self.by_question(row.question)

    def _key_taken(self, key: str) -> bool:
        return bool(self._store.find(self._table, "key", key))

    def _free_key(self, base: str) -> str:
        key, n = base, 2
        while self._key_taken(key):
            key, n = f"{base}-{n}", n + 1
        return key


def _doc(entry: FaqEntry) -> dict[str, Any]:
    doc = asdict(entry)
    doc.pop("id")
    doc["qkey"] = question_key(entry.question)
    return doc


def _entry(doc: dict[str, Any], doc_id: int) -> FaqEntry:
    known = {f.name for f in fields(FaqEntry)}
    entry = FaqEntry(**{k: v for k, v in doc.items() if k in known})
    entry.id = doc_id
    return entry
