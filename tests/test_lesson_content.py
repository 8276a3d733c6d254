"""The lesson files in content/lessons load cleanly, and bad files are reported, not fatal."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.services.lesson_content import MAX_STEP_CHARS, ContentError, LessonSet, load_lessons

LESSON_DIR = Path(__file__).resolve().parent.parent / "content" / "lessons"


def _valid(lesson_id: str, order: int, *, core: bool = True) -> dict[str, Any]:
    """Return a lesson document that passes validation."""
    return {
        "id": lesson_id,
        "title": f"Bài {order}",
        "summary": "Bà con làm được một việc.",
        "order": order,
        "core": core,
        "steps": [{"text": "Bước một.", "image": None}, {"text": "Bước hai.", "image": None}],
        "quiz": {
            "question": "Chọn câu đúng?",
            "options": ["Sai", "Đúng", "Cũng sai"],
            "answer": 2,
            "explanation": "Vì câu thứ hai đúng.",
        },
    }


def _write(directory: Path, name: str, doc: Any) -> None:
    """Write a document as YAML the way an admin's editor would."""
    (directory / name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def _errors_by_file(lessons: LessonSet) -> dict[str, ContentError]:
    """Index errors by file name, checking there is at most one per file."""
    by_file = {error.file: error for error in lessons.errors}
    assert len(by_file) == len(lessons.errors)
    return by_file


@pytest.fixture(scope="module")
def real() -> LessonSet:
    """The shipped lessons."""
    return load_lessons(LESSON_DIR)


def test_real_lessons_load_without_errors(real: LessonSet) -> None:
    assert real.errors == ()
    assert len(real.lessons) >= 9
    assert len(real.core()) >= 7


def test_real_lessons_fit_one_chat_message_per_step(real: LessonSet) -> None:
    for lesson in real.lessons:
        assert 3 <= len(lesson.steps) <= 6, lesson.id
        for step in lesson.steps:
            assert 0 < len(step.text) <= MAX_STEP_CHARS, lesson.id


def test_real_lessons_are_named_by_order_and_id(real: LessonSet) -> None:
    orders = [lesson.order for lesson in real.lessons]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    for lesson in real.lessons:
        assert lesson.source == f"{lesson.order:02d}-{lesson.id}.yaml"


def test_real_lessons_have_no_markup_or_invented_phone_numbers(real: LessonSet) -> None:
    for lesson in real.lessons:
        texts = [s.text for s in lesson.steps] + [lesson.quiz.question, lesson.quiz.explanation]
        for text in texts:
            # Steps are plain text escaped at send time; a stray tag would show up literally.
            assert not re.search(r"<[a-z/]", text), lesson.id
            # Hotlines change and must not be made up: farmers are sent to official sources.
            assert not re.search(r"\d{4}[ .]?\d{3,}", text), (lesson.id, text)


def test_real_lessons_cover_the_course(real: LessonSet) -> None:
    titles = " ".join(lesson.title for lesson in real.lessons)
    for topic in ("Postmart", "Voso", "thanh toán", "ảnh", "mô tả", "OCOP", "lừa đảo"):
        assert topic in titles
    assert all(lesson.core for lesson in real.lessons if "Postmart" in lesson.title)


def test_navigation(real: LessonSet) -> None:
    first, second = real.lessons[0], real.lessons[1]
    assert real.get(first.id) is first
    assert real.get("no-such-lesson") is None
    assert real.next_after(first.id) is second
    assert real.next_after(real.lessons[-1].id) is None
    assert real.next_after("no-such-lesson") is None


def test_quiz_answer_becomes_zero_based(tmp_path: Path) -> None:
    _write(tmp_path, "01-a.yaml", _valid("a", 1))
    lessons = load_lessons(tmp_path)
    assert lessons.errors == ()
    quiz = lessons.lessons[0].quiz
    assert quiz.answer == 1
    assert quiz.options[quiz.answer] == "Đúng"


def test_lessons_sorted_by_order_not_file_name(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _valid("later", 5, core=False))
    _write(tmp_path, "b.yaml", _valid("earlier", 2))
    lessons = load_lessons(tmp_path)
    assert [lesson.id for lesson in lessons.lessons] == ["earlier", "later"]
    assert [lesson.id for lesson in lessons.core()] == ["earlier"]


def test_malformed_files_are_reported_and_good_ones_still_load(tmp_path: Path) -> None:
    _write(tmp_path, "01-good.yaml", _valid("good", 1))
    _write(tmp_path, "02-also-good.yaml", _valid("also-good", 2))
    (tmp_path / "03-bad-yaml.yaml").write_text("id: x\nsteps: [\n  - text: a\n", encoding="utf-8")
    no_quiz = _valid("no-quiz", 4)
    del no_quiz["quiz"]
    _write(tmp_path, "04-no-quiz.yaml", no_quiz)
    out_of_range = _valid("out-of-range", 5)
    out_of_range["quiz"]["answer"] = 4
    _write(tmp_path, "05-out-of-range.yaml", out_of_range)
    _write(tmp_path, "06-duplicate.yaml", _valid("good", 6))

    lessons = load_lessons(tmp_path)

    assert [lesson.id for lesson in lessons.lessons] == ["good", "also-good"]
    kept = lessons.get("good")
    assert kept is not None and kept.source == "01-good.yaml"
    errors = _errors_by_file(lessons)
    assert set(errors) == {
        "03-bad-yaml.yaml",
        "04-no-quiz.yaml",
        "05-out-of-range.yaml",
        "06-duplicate.yaml",
    }
    assert "YAML syntax error at line" in errors["03-bad-yaml.yaml"].message
    assert (errors["04-no-quiz.yaml"].field, errors["04-no-quiz.yaml"].message) == (
        "quiz",
        "missing",
    )
    assert errors["05-out-of-range.yaml"].field == "quiz.answer"
    assert "out of range" in errors["05-out-of-range.yaml"].message
    assert errors["06-duplicate.yaml"].field == "id"
    assert "01-good.yaml" in errors["06-duplicate.yaml"].message
    assert str(errors["06-duplicate.yaml"]).startswith("06-duplicate.yaml: id: duplicate id")


def _broken(change: str) -> Any:
    """Return a valid lesson with one named defect."""
    doc: Any = copy.deepcopy(_valid("broken", 1))
    if change == "long step":
        doc["steps"][0]["text"] = "a" * (MAX_STEP_CHARS + 1)
    elif change == "no steps":
        doc["steps"] = []
    elif change == "seven steps":
        doc["steps"] = [{"text": f"Bước {i}.", "image": None} for i in range(7)]
    elif change == "one option":
        doc["quiz"]["options"] = ["Chỉ một"]
        doc["quiz"]["answer"] = 1
    elif change == "five options":
        doc["quiz"]["options"] = ["1", "2", "3", "4", "5"]
    elif change == "answer zero":
        doc["quiz"]["answer"] = 0
    elif change == "order as text":
        doc["order"] = "một"
    elif change == "core as text":
        doc["core"] = "có"
    elif change == "answer as bool":
        doc["quiz"]["answer"] = True
    elif change == "not a slug":
        doc["id"] = "Mở gian hàng"
    elif change == "misspelt field":
        doc["sumary"] = doc.pop("summary")
    elif change == "extra field":
        doc["author"] = "x"
    elif change == "image outside":
        doc["steps"][1]["image"] = "content/lessons/img/../../../etc/passwd"
    elif change == "empty title":
        doc["title"] = "   "
    elif change == "step not a mapping":
        doc["steps"][0] = "Bước một."
    elif change == "same options":
        doc["quiz"]["options"] = ["Có", "Có"]
        doc["quiz"]["answer"] = 1
    elif change == "not a mapping":
        doc = ["id", "broken"]
    elif change == "empty file":
        doc = None
    return doc


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ("long step", "steps[1].text", "at most 600"),
        ("no steps", "steps", "0 steps"),
        ("seven steps", "steps", "7 steps"),
        ("one option", "quiz.options", "has 1"),
        ("five options", "quiz.options", "has 5"),
        ("answer zero", "quiz.answer", "out of range"),
        ("order as text", "order", "expected an integer"),
        ("core as text", "core", "expected true or false"),
        ("answer as bool", "quiz.answer", "expected an integer"),
        ("not a slug", "id", "ASCII slug"),
        ("misspelt field", "summary", "missing"),
        ("extra field", "author", "unknown field"),
        ("image outside", "steps[2].image", "under content/lessons/img/"),
        ("empty title", "title", "empty"),
        ("step not a mapping", "steps[1]", "expected a mapping"),
        ("same options", "quiz.options", "same text"),
        ("not a mapping", "", "expected a mapping"),
        ("empty file", "", "expected a mapping"),
    ],
)
def test_each_defect_names_file_and_field(
    tmp_path: Path, change: str, field: str, words: str
) -> None:
    _write(tmp_path, "01-ok.yaml", _valid("ok", 1))
    _write(tmp_path, "02-broken.yaml", _broken(change))
    lessons = load_lessons(tmp_path)
    assert [lesson.id for lesson in lessons.lessons] == ["ok"]
    assert len(lessons.errors) == 1
    error = lessons.errors[0]
    assert (error.file, error.field) == ("02-broken.yaml", field)
    assert words in error.message


def test_text_is_stripped_and_nfc_normalised(tmp_path: Path) -> None:
    doc = _valid("nfc", 1)
    doc["title"] = "  Ho\u0302\u0300ng kho\u0302ng ha\u0323t \n"  # decomposed "Hồng không hạt"
    _write(tmp_path, "01-nfc.yaml", doc)
    assert load_lessons(tmp_path).lessons[0].title == "Hồng không hạt"


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "01-utf16.yaml").write_bytes("id: h\u1ed3ng".encode("utf-16"))
    errors = load_lessons(tmp_path).errors
    assert [(e.file, e.field) for e in errors] == [("01-utf16.yaml", "")]
    assert "UTF-8" in errors[0].message


def test_missing_directory_is_one_error(tmp_path: Path) -> None:
    lessons = load_lessons(tmp_path / "nowhere")
    assert lessons.lessons == ()
    assert len(lessons.errors) == 1 and "not found" in lessons.errors[0].message
