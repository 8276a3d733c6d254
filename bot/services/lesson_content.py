"""Load and validate the digital-skills lessons kept as YAML files in content/lessons/."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_STEP_CHARS = 600
MIN_STEPS, MAX_STEPS = 1, 6
MIN_OPTIONS, MAX_OPTIONS = 2, 4
# Options become buttons or numbered lines; long ones get cut off on small screens.
MAX_OPTION_CHARS = 100
IMAGE_DIR = "content/lessons/img/"

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TOP_FIELDS = ("id", "title", "summary", "order", "core", "steps", "quiz")
_STEP_FIELDS = ("text", "image")
_QUIZ_FIELDS = ("question", "options", "answer", "explanation")


@dataclass(frozen=True)
class LessonStep:
    """One chat-sized message of a lesson."""

    text: str
    image: str | None


@dataclass(frozen=True)
class Quiz:
    """The check question at the end of a lesson; `answer` is a 0-based option index."""

    question: str
    options: tuple[str, ...]
    answer: int
    explanation: str


@dataclass(frozen=True)
class Lesson:
    """A validated lesson; `source` is the file name it came from."""

    id: str
    title: str
    summary: str
    order: int
    core: bool
    steps: tuple[LessonStep, ...]
    quiz: Quiz
    source: str


@dataclass(frozen=True)
class ContentError:
    """Why a lesson file was rejected, for admins: the file, the field path and the problem."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        """Render as one log line."""
        return f"{self.file}: {self.field or '(file)'}: {self.message}"


@dataclass(frozen=True)
class LessonSet:
    """The lessons that loaded (sorted by order) and the errors of those that did not."""

    lessons: tuple[Lesson, ...]
    errors: tuple[ContentError, ...]

    def get(self, lesson_id: str) -> Lesson | None:
        """Return the lesson with this id, or None."""
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def core(self) -> tuple[Lesson, ...]:
        """Return the lessons that count toward being trained, in order."""
        return tuple(lesson for lesson in self.lessons if lesson.core)

    def next_after(self, lesson_id: str) -> Lesson | None:
        """Return the lesson that follows this one, or None at the end or for an unknown id."""
        ids = [lesson.id for lesson in self.lessons]
        if lesson_id not in ids:
            return None
        index = ids.index(lesson_id) + 1
        return self.lessons[index] if index < len(self.lessons) else None


class _Invalid(Exception):
    """Raised inside validation to stop at the first problem of a file."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def load_lessons(directory: Path) -> LessonSet:
    """Load every *.yaml lesson in a directory; a bad file is reported and skipped."""
    if not directory.is_dir():
        error = ContentError(str(directory), "", "lesson directory not found")
        return LessonSet((), (error,))
    lessons: list[Lesson] = []
    errors: list[ContentError] = []
    seen: dict[str, str] = {}
    # Sorted by name so that which of two duplicate ids wins does not depend on the filesystem.
    for path in sorted(directory.glob("*.yaml")):
        try:
            lesson = _parse_file(path)
            if lesson.id in seen:
                raise _Invalid(
                    "id", f"duplicate id {lesson.id!r}, already used by {seen[lesson.id]}"
                )
        except _Invalid as problem:
            errors.append(ContentError(path.name, problem.field, problem.message))
            continue
        seen[lesson.id] = path.name
        lessons.append(lesson)
    lessons.sort(key=lambda lesson: (lesson.order, lesson.source))
    return LessonSet(tuple(lessons), tuple(errors))


def _parse_file(path: Path) -> Lesson:
    """Read, parse and validate one lesson file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid("", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise _Invalid("", f"cannot be read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise _Invalid("", f"YAML syntax error{where}: {problem}") from exc
    return _parse_lesson(data, path.name)


def _parse_lesson(data: Any, source: str) -> Lesson:
    """Validate the top-level mapping of a lesson."""
    top = _mapping(data, "", _TOP_FIELDS)
    lesson_id = _text(top, "id", "id")
    if not _ID_RE.match(lesson_id):
        raise _Invalid("id", f"{lesson_id!r} is not an ASCII slug (a-z, 0-9, single hyphens)")
    raw_steps = top.get("steps")
    if not isinstance(raw_steps, list):
        raise _Invalid("steps", f"expected a list of steps, got {_kind(raw_steps)}")
    if not MIN_STEPS <= len(raw_steps) <= MAX_STEPS:
        raise _Invalid("steps", f"has {len(raw_steps)} steps, need {MIN_STEPS}–{MAX_STEPS}")
    return Lesson(
        id=lesson_id,
        title=_text(top, "title", "title"),
        summary=_text(top, "summary", "summary"),
        order=_integer(top, "order", "order"),
        core=_boolean(top, "core", "core"),
        steps=tuple(_parse_step(step, f"steps[{i}]") for i, step in enumerate(raw_steps, 1)),
        quiz=_parse_quiz(top.get("quiz"), "quiz"),
        source=source,
    )


def _parse_step(data: Any, where: str) -> LessonStep:
    """Validate one step: its text fits one chat message, its image stays under IMAGE_DIR."""
    step = _mapping(data, where, _STEP_FIELDS)
    text = _text(step, "text", f"{where}.text", max_chars=MAX_STEP_CHARS)
    image = step.get("image")
    if image is not None:
        if not isinstance(image, str) or not image.strip():
            raise _Invalid(f"{where}.image", f"expected a path or null, got {_kind(image)}")
        image = image.strip()
        if not image.startswith(IMAGE_DIR) or ".." in Path(image).parts:
            raise _Invalid(f"{where}.image", f"{image!r} must be a path under {IMAGE_DIR}")
    return LessonStep(text=text, image=image)


def _parse_quiz(data: Any, where: str) -> Quiz:
    """Validate the quiz and turn its 1-based answer into a 0-based index."""
    quiz = _mapping(data, where, _QUIZ_FIELDS)
    question = _text(quiz, "question", f"{where}.question", max_chars=MAX_STEP_CHARS)
    raw_options = quiz.get("options")
    if not isinstance(raw_options, list):
        raise _Invalid(f"{where}.options", f"expected a list, got {_kind(raw_options)}")
    if not MIN_OPTIONS <= len(raw_options) <= MAX_OPTIONS:
        count = len(raw_options)
        raise _Invalid(f"{where}.options", f"has {count}, need {MIN_OPTIONS}–{MAX_OPTIONS}")
    options = tuple(
        _text({"o": option}, "o", f"{where}.options[{i}]", max_chars=MAX_OPTION_CHARS)
        for i, option in enumerate(raw_options, 1)
    )
    if len(set(options)) != len(options):
        raise _Invalid(f"{where}.options", "two options have the same text")
    answer = _integer(quiz, "answer", f"{where}.answer")
    if not 1 <= answer <= len(options):
        raise _Invalid(f"{where}.answer", f"{answer} is out of range 1–{len(options)} (1-based)")
    explanation = _text(quiz, "explanation", f"{where}.explanation", max_chars=MAX_STEP_CHARS)
    return Quiz(question=question, options=options, answer=answer - 1, explanation=explanation)


def _mapping(data: Any, where: str, fields: tuple[str, ...]) -> Mapping[str, Any]:
    """Check that data is a mapping with every field present and no unknown (misspelt) ones."""
    if not isinstance(data, dict):
        raise _Invalid(where, f"expected a mapping, got {_kind(data)}")
    for name in fields:
        if name not in data:
            raise _Invalid(_join(where, name), "missing")
    unknown = sorted(str(key) for key in data if key not in fields)
    if unknown:
        raise _Invalid(_join(where, unknown[0]), f"unknown field (expected: {', '.join(fields)})")
    return data


def _text(data: Mapping[str, Any], key: str, where: str, max_chars: int | None = None) -> str:
    """Return a non-empty string field, NFC-normalised and stripped, within max_chars."""
    value = data.get(key)
    if not isinstance(value, str):
        raise _Invalid(where, f"expected text, got {_kind(value)}")
    # NFC so that length limits and text search see one code point per Vietnamese letter.
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise _Invalid(where, "is empty")
    if max_chars is not None and len(text) > max_chars:
        raise _Invalid(where, f"has {len(text)} characters, at most {max_chars} allowed")
    return text


def _integer(data: Mapping[str, Any], key: str, where: str) -> int:
    """Return an integer field (YAML booleans are not accepted as integers)."""
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid(where, f"expected an integer, got {_kind(value)}")
    return value


def _boolean(data: Mapping[str, Any], key: str, where: str) -> bool:
    """Return a true/false field."""
    value = data.get(key)
    if not isinstance(value, bool):
        raise _Invalid(where, f"expected true or false, got {_kind(value)}")
    return value


def _join(where: str, name: str) -> str:
    """Build a dotted field path."""
    return f"{where}.{name}" if where else name


def _kind(value: Any) -> str:
    """Describe a YAML value's type for an error message."""
    if value is None:
        return "nothing (null)"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
