"""Where each household stands in the lessons, kept up to date for the areas' progress reports.

A team member's report counts an area's households by standing and names the first few of each;
these standings follow the users and lesson_progress tables document by document, so a report
sorts the ids of one area instead of reading every learner of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.services.users import FARMER
from bot.storage.follow import Doc

LEARNER_DOCS, USER_DOCS = 0, 1  # the tables a Standings follows, in this order
FINISHED, LEARNING, IDLE = 0, 1, 2


@dataclass
class Sorted:
    """User ids of one area by standing, each list in the report's order."""

    finished: list[int] = field(default_factory=list)  # by when they finished
    learning: list[int] = field(default_factory=list)  # longest without progress first
    idle: list[int] = field(default_factory=list)  # farmers who never opened a lesson


class Standings:
    """Each registered user's standing; a View (bot/storage/follow.py) of learners and users."""

    def __init__(self) -> None:
        self._learner_of: dict[int, int] = {}  # lesson_progress id -> its user's id
        self._standing: dict[int, tuple[int, str]] = {}  # user id -> standing, sort key
        self._people: dict[int, tuple[bool, bool]] = {}  # user id -> registered, farmer

    def take(self, table: int, doc_id: int, doc: Doc | None) -> None:
        """Note one learner's or user's document as it is now (None: removed)."""
        if table == USER_DOCS:
            if doc is None:
                self._people.pop(doc_id, None)
            else:
                person = (bool(doc.get("registered", False)), doc.get("role") == FARMER)
                self._people[doc_id] = _PEOPLE[person]
            return
        before = self._learner_of.pop(doc_id, None)
        if before is not None:
            self._standing.pop(before, None)
        if doc is None:
            return
        user_id = int(doc.get("user_id", 0))
        self._learner_of[doc_id] = user_id
        standing = standing_of(doc)
        if standing is not None:
            self._standing[user_id] = standing

    def settle(self, table: int) -> None:
        """Nothing depends on other tables."""

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


_PEOPLE = {(r, f): (r, f) for r in (False, True) for f in (False, True)}  # four shared tuples


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
