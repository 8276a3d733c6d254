"""Lesson progress: where each learner is in each lesson, and who counts as trained.

One document per user holds that user's progress in every lesson they opened, plus the
"trained" flag and date set the moment all core lessons are done (the province's headline
figure). Lesson content comes from `lesson_content` and can be reloaded without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.fmt import fmt
from bot.i18n import _, format_day
from bot.services.lesson_content import ContentError, Lesson, LessonSet, load_lessons
from bot.services.lesson_standings import LessonCounts, Standings
from bot.services.users import User, UserRepo
from bot.storage.db import Store
from bot.storage.follow import Follower

log = logging.getLogger(__name__)

# Button payloads carry the lesson id ("nx:<id>:<step>"); Telegram allows 64 bytes in all.
MAX_ID_BYTES = 40
# Stamps are stored in UTC; a certificate's date is the learner's: Vietnam has no daylight saving.


def local_day(stamp: str) -> str:
    """A stored ISO time stamp as the day it was in Vietnam (29/11/2026), or "—"."""
    return format_day(datetime.fromisoformat(stamp)) if stamp else "—"


@dataclass
class LessonProgress:
    """One learner's place in one lesson; `step == len(steps)` means at the quiz."""

    step: int = 0
    done: bool = False
    attempts: int = 0  # quiz answers given, right or wrong
    started_at: str = ""
    updated_at: str = ""
    completed_at: str = ""


@dataclass
class Learner:
    """Everything one user did in the lessons."""

    id: int = 0
    user_id: int = 0
    lessons: dict[str, LessonProgress] = field(default_factory=dict)
    current: str = ""  # the lesson opened last: "continue" goes there
    trained: bool = False
    trained_at: str = ""

    def of(self, lesson_id: str) -> LessonProgress | None:
        """Progress in one lesson, if it was ever opened."""
        return self.lessons.get(lesson_id)

    def is_done(self, lesson_id: str) -> bool:
        """Whether the lesson's quiz was answered right."""
        entry = self.lessons.get(lesson_id)
        return bool(entry and entry.done)

    def to_doc(self) -> dict[str, Any]:
        """The stored document (without the id)."""
        doc = asdict(self)
        doc.pop("id")
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any], doc_id: int) -> Learner:
        """Build from a stored document, ignoring fields this version does not know."""
        known = set(LessonProgress.__dataclass_fields__)
        lessons = {
            lesson_id: LessonProgress(**{k: v for k, v in entry.items() if k in known})
            for lesson_id, entry in (doc.get("lessons") or {}).items()
        }
        return cls(
            id=doc_id,
            user_id=int(doc.get("user_id", 0)),
            lessons=lessons,
            current=str(doc.get("current", "")),
            trained=bool(doc.get("trained", False)),
            trained_at=str(doc.get("trained_at", "")),
        )


@dataclass(frozen=True)
class QuizResult:
    """What answering a quiz did: right or not, and whether it just completed the course."""

    correct: bool
    newly_trained: bool


@dataclass(frozen=True)
class LearnerStatus:
    """One user's standing, for an area's progress report."""

    user: User
    core_done: int
    trained_at: str
    lesson: Lesson | None  # the lesson in progress (or next to start), if not trained
    step: int  # its current step (0-based; len(steps) = at the quiz)
    updated_at: str  # last activity in the lessons, "" if never started


@dataclass(frozen=True)
class AreaProgress:
    """An area's households by standing: how many of each, and the first `limit` of each."""

    finished: int
    learning: int
    idle: int
    first_finished: list[LearnerStatus]  # by when they finished
    first_learning: list[LearnerStatus]  # longest without progress first
    first_idle: list[LearnerStatus]

    @property
    def households(self) -> int:
        """Farmers, and other users who took up the lessons."""
        return self.finished + self.learning + self.idle


class LessonService:
    """The lesson content in use and every learner's progress."""

    def __init__(self, store: Store, users: UserRepo, lessons_dir: Path) -> None:
        self._store = store
        self._users = users
        self._table = store.table("lesson_progress", indexes=("user_id", "trained"))
        self.standings = Follower([self._table, store.table("users")], Standings)
        self.lessons_dir = lessons_dir
        self._set = LessonSet((), ())
        self.reload()

    # --- content ---------------------------------------------------------------------------

    @property
    def lessons(self) -> LessonSet:
        """The lessons in use."""
        return self._set

    def reload(self) -> LessonSet:
        """Load the lessons from disk again; log and return what was rejected.

        A lesson whose file is now broken keeps its previous version, so that a typo in an
        admin's edit does not pull a lesson away from people in the middle of it.
        """
        loaded = load_lessons(self.lessons_dir)
        errors = list(loaded.errors)
        fresh = [lesson for lesson in loaded.lessons if self._id_fits(lesson, errors)]
        broken = {error.file for error in errors}
        ids = {lesson.id for lesson in fresh}
        kept = [
            lesson
            for lesson in self._set.lessons
            if lesson.source in broken and lesson.id not in ids
        ]
        merged = sorted([*fresh, *kept], key=lambda lesson: (lesson.order, lesson.source))
        self._set = LessonSet(tuple(merged), tuple(errors))
        for error in errors:
            log.error("lesson file rejected: %s", error)
        log.info(
            "lessons loaded: %d (%d core), %d rejected",
            len(merged),
            len(self._set.core()),
            len(errors),
        )
        return self._set

    @staticmethod
    def _id_fits(lesson: Lesson, errors: list[ContentError]) -> bool:
        """Whether a lesson id is short enough for button payloads; report it if not."""
        if len(lesson.id.encode()) <= MAX_ID_BYTES:
            return True
        errors.append(ContentError(lesson.source, "id", f"longer than {MAX_ID_BYTES} characters"))
        return False

    # --- progress --------------------------------------------------------------------------

    def learner(self, user_id: int) -> Learner:
        """A user's progress (empty, not yet stored, if they never opened a lesson)."""
        docs = self._store.find(self._table, "user_id", user_id)
        return (
            Learner.from_doc(dict(docs[0]), docs[0].doc_id) if docs else Learner(user_id=user_id)
        )

    def _save(self, learner: Learner) -> None:
        """Write a learner back (durably)."""
        if learner.id:
            self._table.update(learner.to_doc(), doc_ids=[learner.id])
        else:
            learner.id = self._table.insert(learner.to_doc())

    def position(self, learner: Learner, lesson: Lesson) -> int:
        """Where the learner is in a lesson: a step index, or len(steps) for the quiz."""
        entry = learner.of(lesson.id)
        return min(entry.step, len(lesson.steps)) if entry else 0

    def open(self, user_id: int, lesson: Lesson, now: datetime) -> Learner:
        """Start or resume a lesson: remember it as the current one."""
        learner = self.learner(user_id)
        stamp = now.isoformat()
        if lesson.id not in learner.lessons:
            learner.lessons[lesson.id] = LessonProgress(started_at=stamp, updated_at=stamp)
        learner.current = lesson.id
        self._save(learner)
        return learner

    def move(self, user_id: int, lesson: Lesson, step: int, now: datetime) -> Learner:
        """Store the learner's new place in a lesson (a step index, or the quiz)."""
        learner = self.learner(user_id)
        stamp = now.isoformat()
        entry = learner.lessons.setdefault(lesson.id, LessonProgress(started_at=stamp))
        entry.step = max(0, min(step, len(lesson.steps)))
        entry.updated_at = stamp
        learner.current = lesson.id
        self._save(learner)
        return learner

    def answer(self, user_id: int, lesson: Lesson, option: int, now: datetime) -> QuizResult:
        """Record a quiz answer; a right one completes the lesson, maybe the whole course."""
        learner = self.learner(user_id)
        stamp = now.isoformat()
        entry = learner.lessons.setdefault(lesson.id, LessonProgress(started_at=stamp))
        entry.attempts += 1
        entry.updated_at = stamp
        correct = option == lesson.quiz.answer
        newly_trained = False
        if correct and not entry.done:
            entry.done, entry.completed_at = True, stamp
        core = len(self._set.core())
        if correct and not learner.trained and core and self.core_done(learner) == core:
            learner.trained, learner.trained_at = True, stamp
            newly_trained = True
        self._save(learner)
        return QuizResult(correct, newly_trained)

    def core_done(self, learner: Learner) -> int:
        """How many of the current core lessons the learner finished."""
        return sum(1 for lesson in self._set.core() if learner.is_done(lesson.id))

    def in_progress(self, learner: Learner) -> Lesson | None:
        """The lesson to continue: the current one if unfinished, else the first one not done."""
        current = self._set.get(learner.current)
        if current is not None and not learner.is_done(current.id):
            return current
        started = [
            lesson
            for lesson in self._set.lessons
            if lesson.id in learner.lessons and not learner.is_done(lesson.id)
        ]
        return started[0] if started else None

    def next_lesson(self, learner: Learner, after: str = "") -> Lesson | None:
        """The lesson to suggest: the first not done after `after`, else the first not done."""
        lessons = list(self._set.lessons)
        ids = [lesson.id for lesson in lessons]
        start = ids.index(after) + 1 if after in ids else 0
        for lesson in [*lessons[start:], *lessons[:start]]:
            if not learner.is_done(lesson.id):
                return lesson
        return None

    def delete(self, user: User) -> None:
        """Erase a user's lesson progress."""
        for doc in self._store.find(self._table, "user_id", user.id):
            self._table.remove(doc_ids=[doc.doc_id])

    # --- figures for teams, the console and stats -----------------------------------------

    def is_trained(self, user_id: int) -> bool:
        """Whether the user finished every core lesson (the household counts as trained)."""
        return self.learner(user_id).trained

    def trained_count(self, area: str | None = None) -> int:
        """How many registered households are trained, province-wide or in one area."""
        trained = {
            int(d.get("user_id", 0)) for d in self._store.find(self._table, "trained", True)
        }
        if area is None:
            return len(trained)
        return sum(1 for user in self._users.in_area(area) if user.id in trained)

    def trained_users(self) -> dict[int, str]:
        """User id -> when they became trained, for every trained learner (one indexed read)."""
        return {
            int(d.get("user_id", 0)): str(d.get("trained_at", ""))
            for d in self._store.find(self._table, "trained", True)
        }

    def area_progress(self, area: str, limit: int) -> AreaProgress:
        """An area's farmers (and any other learners) by standing, the first `limit` in full."""
        ranked = self.standings.view().sort(self._users.ids_in_area(area))

        def first(user_ids: list[int]) -> list[LearnerStatus]:
            users = [self._users.get(user_id) for user_id in user_ids[:limit]]
            return [self.status(user) for user in users if user is not None]

        return AreaProgress(
            finished=len(ranked.finished),
            learning=len(ranked.learning),
            idle=len(ranked.idle),
            first_finished=first(ranked.finished),
            first_learning=first(ranked.learning),
            first_idle=first(ranked.idle),
        )

    def lesson_counts(self, areas: Collection[str] | None = None) -> LessonCounts:
        """Registered farmers of these areas (None: all) and how many started, finished each lesson."""
        return self.standings.view().lesson_counts(areas)

    def status(self, user: User) -> LearnerStatus:
        """One user's lesson standing, for an area's progress report."""
        learner = self.learner(user.id)
        lesson = None if learner.trained else self.in_progress(learner)
        if lesson is None and not learner.trained and learner.lessons:
            lesson = self.next_lesson(learner)
        entry = learner.of(lesson.id) if lesson else None
        stamps = [e.updated_at for e in learner.lessons.values() if e.updated_at]
        return LearnerStatus(
            user=user,
            core_done=self.core_done(learner),
            trained_at=learner.trained_at if learner.trained else "",
            lesson=lesson,
            step=self.position(learner, lesson) if lesson and entry else 0,
            updated_at=max(stamps, default=""),
        )

    def profile_lines(self, user: User) -> list[str]:
        """The profile card's line about lessons, in the current user's language."""
        learner = self.learner(user.id)
        lines = [
            fmt(
                _("Lessons: {done}/{total} core lessons done"),
                done=self.core_done(learner),
                total=len(self._set.core()),
            )
        ]
        if learner.trained:
            day = local_day(learner.trained_at)
            lines.append(fmt(_("🎓 Digital-skills course completed on {day}"), day=day))
        return lines
