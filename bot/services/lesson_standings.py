"""Where each household stands in the lessons, kept up to date for the areas' progress figures.

A team member's report counts an area's households by standing and names the first few of each;
the console's lessons page counts, per lesson, the farmers who started and finished it. Both
follow the users and lesson_progress tables document by document, so a report sorts the ids of
one area and the page adds up a few counters per area, instead of reading every learner.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field

from bot.services.users import FARMER
from bot.storage.follow import Doc, Shared

LEARNER_DOCS, USER_DOCS = 0, 1  # the tables a Standings follows, in this order
FINISHED, LEARNING, IDLE = 0, 1, 2
FARMERS, TRAINED = "farmers", "trained"  # keys of an area's counters, beside the lessons'
STARTED, DONE = "started", "done"  # (STARTED, lesson id), (DONE, lesson id)


@dataclass
class Sorted:
    """User ids of one area by standing, each list in the report's order."""

    finished: list[int] = field(default_factory=list)  # by when they finished
    learning: list[int] = field(default_factory=list)  # longest without progress first
    idle: list[int] = field(default_factory=list)  # farmers who never opened a lesson


@dataclass
class LessonCounts:
    """Registered farmers of some areas: how many, trained, and per lesson started and done."""

    farmers: int = 0
    trained: int = 0
    started: Counter[str] = field(default_factory=Counter)  # lesson id -> farmers
    done: Counter[str] = field(default_factory=Counter)


Person = tuple[bool, bool, str]  # registered, farmer, area
Learned = tuple[frozenset[str], frozenset[str], bool]  # lessons started, done; trained


class Standings:
    """Each registered user's standing; a View (bot/storage/follow.py) of learners and users."""

    def __init__(self) -> None:
        self._learner_of: dict[int, int] = {}  # lesson_progress id -> its user's id
        self._standing: dict[int, tuple[int, str]] = {}  # user id -> standing, sort key
        self._learned: dict[int, Learned] = {}
        self._people: dict[int, Person] = {}
        self._counts: dict[str, Counter[Hashable]] = {}  # area -> its farmers' counters
        self._once = Shared()

    def take(self, table: int, doc_id: int, doc: Doc | None) -> None:
        """Note one learner's or user's document as it is now (None: removed)."""
        if table == USER_DOCS:
            self._count(doc_id, -1)
            if doc is None:
                self._people.pop(doc_id, None)
            else:
                registered, farmer = bool(doc.get("registered", False)), doc.get("role") == FARMER
                self._people[doc_id] = self._once((registered, farmer, str(doc.get("area", ""))))
            self._count(doc_id, 1)
            return
        before = self._learner_of.pop(doc_id, None)
        user_id = int(doc.get("user_id", 0)) if doc is not None else None
        touched = {u for u in (before, user_id) if u is not None}
        for user in touched:
            self._count(user, -1)
        if before is not None:
            self._standing.pop(before, None)
            self._learned.pop(before, None)
        if doc is not None and user_id is not None:
            self._learner_of[doc_id] = user_id
            standing = standing_of(doc)
            if standing is not None:
                self._standing[user_id] = standing
            self._learned[user_id] = self._once(learned_of(doc))
        for user in touched:
            self._count(user, 1)

    def _count(self, user_id: int, sign: int) -> None:
        """Add (or take back) a registered farmer's part of their area's counters."""
        person = self._people.get(user_id)
        if person is None or not (person[0] and person[1]):
            return
        counts = self._counts.setdefault(person[2], Counter())
        counts[FARMERS] += sign
        learned = self._learned.get(user_id)
        if learned is not None:
            started, done, trained = learned
            counts[TRAINED] += sign * trained
            for lesson_id in started:
                counts[STARTED, lesson_id] += sign
            for lesson_id in done:
                counts[DONE, lesson_id] += sign

    def settle(self, table: int) -> None:
        """Nothing depends on other tables."""

    def lesson_counts(self, areas: Collection[str] | None) -> LessonCounts:
        """The counters of these areas added up (None: every area)."""
        out = LessonCounts()
        for area, counts in self._counts.items():
            if areas is not None and area not in areas:
                continue
            for key, value in counts.items():
                if key == FARMERS:
                    out.farmers += value
                elif key == TRAINED:
                    out.trained += value
                elif isinstance(key, tuple):
                    (out.started if key[0] == STARTED else out.done)[key[1]] += value
        return out

    def sort(self, user_ids: Iterable[int]) -> Sorted:
        """The registered farmers and learners among `user_ids` (ascending), by standing."""
        finished: list[tuple[str, int]] = []
        learning: list[tuple[str, int]] = []
        out = Sorted()
        for user_id in user_ids:
            person = self._people.get(user_id)
            if person is None or not person[0]:
                continue  # not registered
            standing = self._standing.get(user_id)
            if standing is None:
                if person[1]:
                    out.idle.append(user_id)
                continue  # buyers count only if they took up the lessons
            kind, key = standing
            if kind == FINISHED:
                finished.append((key, user_id))
            elif kind == LEARNING:
                learning.append((key, user_id))
            else:
                out.idle.append(user_id)
        out.finished = [user_id for _key, user_id in sorted(finished)]
        out.learning = [user_id for _key, user_id in sorted(learning)]
        return out


def learned_of(doc: Doc) -> Learned:
    """The lessons a learner started and finished, and whether they finished the course."""
    lessons = doc.get("lessons") or {}
    done = (i for i, e in lessons.items() if isinstance(e, dict) and e.get("done"))
    return frozenset(lessons), frozenset(done), bool(doc.get("trained", False))


def standing_of(doc: Doc) -> tuple[int, str] | None:
    """A learner's standing and sort key, or None if they never opened a lesson."""
    lessons = doc.get("lessons") or {}
    if not lessons:
        return None
    trained_at = str(doc.get("trained_at", "")) if doc.get("trained") else ""
    if trained_at:
        return FINISHED, trained_at
    stamps = [str(e.get("updated_at", "")) for e in lessons.values() if isinstance(e, dict)]
    last = max((s for s in stamps if s), default="")
    return (LEARNING, last) if last else (IDLE, "")
