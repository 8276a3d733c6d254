"""Lesson files: a broken one is reported (log at start, admin on reload) while the rest load."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.services.container import CONTENT_DIR, build_services
from bot.services.lessons import LessonService
from bot.storage.db import Store
from tests.helpers.driver import MAIN_MENU, Chat, settings_for
from tests.helpers.msgids import said

BROKEN_QUIZ = (CONTENT_DIR / "lessons" / "03-epay-safety.yaml").read_text(encoding="utf-8")


def content_copy(tmp_path: Path, lesson_files: list[str]) -> Path:
    """A content dir with the real areas and products and only some of the real lessons."""
    content = tmp_path / "content"
    (content / "lessons").mkdir(parents=True)
    for name in ("areas.yaml", "products.yaml"):
        shutil.copy(CONTENT_DIR / name, content / name)
    for name in lesson_files:
        shutil.copy(CONTENT_DIR / "lessons" / name, content / "lessons" / name)
    return content


def break_answer(path: Path) -> None:
    """Make a lesson's quiz answer point at an option that does not exist."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  answer: 3\n", "  answer: 7\n"), encoding="utf-8")


async def admin(app: BotApp) -> Chat:
    chat = Chat(app, "web:admin", "Thu")
    await chat.onboard(role="buyer")
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    user.roles = ["admin"]
    app.services.users.save(user)
    return chat


def test_a_malformed_file_is_logged_at_start_and_the_rest_load(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    content = content_copy(tmp_path, ["01-postmart-shop.yaml", "02-voso-shop.yaml"])
    (content / "lessons" / "05-broken.yaml").write_text(BROKEN_QUIZ, encoding="utf-8")
    break_answer(content / "lessons" / "05-broken.yaml")
    (content / "lessons" / "06-not-yaml.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    store = Store(tmp_path / "data")
    try:
        with caplog.at_level(logging.ERROR, logger="bot.services.lessons"):
            services = build_services(settings_for(tmp_path / "data"), store, clock, content)
        loaded = services.lessons.lessons
        assert [x.id for x in loaded.lessons] == ["postmart-shop", "voso-shop"]
        logged = caplog.text
        assert "05-broken.yaml: quiz.answer: 7 is out of range" in logged
        assert "06-not-yaml.yaml" in logged and "YAML syntax error" in logged
    finally:
        store.close()


async def test_the_course_works_with_the_lessons_that_loaded(app: BotApp, tmp_path: Path) -> None:
    content = content_copy(tmp_path, ["01-postmart-shop.yaml", "02-voso-shop.yaml"])
    (content / "lessons" / "03-epay-safety.yaml").write_text(BROKEN_QUIZ, encoding="utf-8")
    break_answer(content / "lessons" / "03-epay-safety.yaml")
    app.services.lessons = LessonService(app.store, app.services.users, content / "lessons")
    chat = Chat(app)
    await chat.onboard()
    await chat.say("hoc")
    assert chat.said("You have finished {done}/{total} core lessons.", done=0, total=2)
    assert "thanh toán điện tử" not in chat.text()
    assert "Mở gian hàng trên Postmart" in chat.text()


async def test_admin_reloads_lessons_and_sees_errors_by_file_and_field(
    app: BotApp, tmp_path: Path
) -> None:
    content = content_copy(tmp_path, ["01-postmart-shop.yaml", "03-epay-safety.yaml"])
    lesson_dir = content / "lessons"
    app.services.lessons = LessonService(app.store, app.services.users, lesson_dir)
    chat = await admin(app)
    await chat.say("/napbaihoc")
    assert chat.said("Lessons reloaded: {count} lessons, {core} of them core.", count=2, core=2)

    shutil.copy(CONTENT_DIR / "lessons" / "02-voso-shop.yaml", lesson_dir)
    break_answer(lesson_dir / "03-epay-safety.yaml")  # an admin's typo in a lesson in use
    await chat.tap("reload")
    text = chat.text()
    assert said(text, "Lessons reloaded: {count} lessons, {core} of them core.", count=3)
    assert "03-epay-safety.yaml: quiz.answer: 7 is out of range 1–3" in text
    assert said(
        text, "(the previous version is still used)"
    )  # people in the middle of it keep the lesson
    assert app.services.lessons.lessons.get("epay-safety") is not None
    assert app.services.lessons.lessons.get("voso-shop") is not None

    (lesson_dir / "04-new.yaml").write_text("title: [", encoding="utf-8")
    await chat.say("nap lai")
    assert "04-new.yaml: (file): YAML syntax error" in chat.text()
    assert chat.said("⚠️ {n} file(s) have problems and were not loaded:", n=2)


async def test_a_farmer_cannot_reload_lessons(app: BotApp) -> None:
    chat = Chat(app)
    await chat.onboard()
    await chat.say("/napbaihoc")
    assert chat.said("Sorry, only administrators can reload the lessons.")
    await chat.say("ok")
    assert chat.said(MAIN_MENU)
