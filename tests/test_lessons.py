"""Học kỹ năng số through the engine: lessons step by step, quizzes, resume, certificate."""

from __future__ import annotations

from pathlib import Path

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.services.lesson_content import Lesson
from bot.services.lessons import local_day
from tests.helpers.driver import MAIN_MENU, Chat, make_app
from tests.helpers.msgids import said

PROFILE_PROGRESS = "Lessons: {done}/{total} core lessons done"

STEP = "step {n}/{total}"  # the step line of a lesson


def lessons(app: BotApp) -> tuple[Lesson, ...]:
    return app.services.lessons.lessons.lessons


def first(app: BotApp) -> Lesson:
    return lessons(app)[0]


async def farmer(app: BotApp, key: str = "web:lan", name: str = "Lan") -> Chat:
    chat = Chat(app, key, name)
    await chat.onboard()
    return chat


async def finish(chat: Chat, lesson: Lesson) -> None:
    """Open a lesson from a lesson screen, go through its steps and answer the quiz right."""
    await chat.tap(f"open:{lesson.id}")
    for step in range(len(lesson.steps)):
        await chat.tap(f"nx:{lesson.id}:{step}")
    await chat.tap(f"ans:{lesson.id}:{lesson.quiz.answer + 1}")
    assert chat.said("✅ Correct!"), chat.text()


def stored_step(app: BotApp, chat: Chat, lesson: Lesson) -> int:
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    entry = app.services.lessons.learner(user.id).of(lesson.id)
    assert entry is not None
    return entry.step


async def test_menu_lists_lessons_with_marks(app: BotApp) -> None:
    chat = await farmer(app)
    assert any(said(label, "🎓 Learn digital skills") for label, _p in chat.buttons())
    await chat.say("hoc ky nang so")
    text = chat.text()
    assert said(text, "<b>Learn digital skills</b>"), text
    assert said(text, "You have finished {done}/{total} core lessons.", done=0, total=8), text
    assert f"1. ⬜ {first(app).title}" in text
    optional = [x for x in lessons(app) if not x.core]
    assert said(text, "(optional)") and optional[0].title in text
    ninth = lessons(app)[8]
    assert ninth.title not in text  # eight lessons a page
    await chat.tap("page:next")
    assert f"1. ⬜ {ninth.title}" in chat.text()  # numbers restart on each page, like buttons
    assert "page:prev" in [p for _l, p in chat.buttons()]


async def test_whole_lesson_wrong_then_right_answer(app: BotApp) -> None:
    chat = await farmer(app)
    lesson = first(app)
    await chat.say("/hoc")
    await chat.say("1")  # the first lesson, by its number
    total = len(lesson.steps)
    assert lesson.title in chat.text() and chat.said(STEP, n=1, total=total)
    await chat.say("tiếp")
    assert chat.said(STEP, n=2, total=total)
    await chat.say("quay lai")
    assert chat.said(STEP, n=1, total=total)
    for step in range(len(lesson.steps)):
        await chat.say("tiep")
        assert stored_step(app, chat, lesson) == step + 1  # stored on every step
    quiz = chat.text()
    assert lesson.quiz.question in quiz
    for number, option in enumerate(lesson.quiz.options, 1):
        assert f"{number}. {option}" in quiz
    assert [label for label, _p in chat.buttons()][: len(lesson.quiz.options)] == ["1", "2", "3"]

    wrong = 1 if lesson.quiz.answer != 0 else 2
    await chat.say(str(wrong))
    assert chat.said("❌ Not quite.")
    assert lesson.quiz.explanation.split("\n")[0][:40] in chat.text()
    assert lesson.quiz.question in chat.text()  # another try
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    entry = app.services.lessons.learner(user.id).of(lesson.id)
    assert entry is not None and entry.attempts == 1 and not entry.done

    await chat.tap(f"ans:{lesson.id}:{lesson.quiz.answer + 1}")
    assert chat.said("✅ Correct!") and chat.said("You have finished the lesson <b>{title}</b>.")
    entry = app.services.lessons.learner(user.id).of(lesson.id)
    assert entry is not None and entry.done and entry.attempts == 2
    assert entry.completed_at.startswith("2026-11-26")
    following = lessons(app)[1]
    assert f"open:{following.id}" in [p for _l, p in chat.buttons()]
    await chat.tap(f"open:{following.id}")
    assert following.title in chat.text() and chat.said(STEP, n=1)
    await chat.tap(f"bk:{following.id}:0")  # back from the first step: the list
    assert f"1. ✅ {lesson.title}" in chat.text()
    assert f"2. ▶️ {following.title} — " in chat.text() and chat.said(STEP, n=1)


async def test_quiz_answered_by_the_options_words_without_diacritics(app: BotApp) -> None:
    chat = await farmer(app)
    lesson = next(x for x in lessons(app) if x.id == "epay-safety")
    await chat.say("/hoc")
    await chat.tap(f"open:{lesson.id}")
    for step in range(len(lesson.steps)):
        await chat.tap(f"nx:{lesson.id}:{step}")
    await chat.say("khong dua ma, cup may, tu goi so tong dai cua ngan hang de hoi")
    assert chat.said("✅ Correct!"), chat.text()


async def test_resume_after_a_restart_mid_lesson(tmp_path: Path, clock: FakeClock) -> None:
    app = make_app(tmp_path / "data", clock)
    chat = await farmer(app)
    lesson = first(app)
    await chat.say("/hoc")
    await chat.say("1")
    await chat.say("tiep")
    await chat.say("tiep")
    assert chat.said(STEP, n=3)
    await app.stop()

    app = make_app(tmp_path / "data", clock)
    try:
        chat = Chat(app, "web:lan", "Lan")
        await chat.say("tiep")  # the conversation itself survived
        assert lesson.title in chat.text() and chat.said(STEP, n=4)
        await chat.say("/menu")
        await chat.say("hoc")  # and so did the progress
        assert "▶️" in chat.text() and chat.said(STEP, n=4)
        await chat.say("1")
        assert lesson.title in chat.text() and chat.said(STEP, n=4)
    finally:
        await app.stop()


async def test_leaving_keeps_the_place(app: BotApp) -> None:
    chat = await farmer(app)
    lesson = first(app)
    await chat.say("/hoc")
    await chat.say("1")
    await chat.say("tiep")
    await chat.tap("leave")
    assert chat.said(
        "Your progress is saved ({where}). Open <b>Learn digital skills</b> any time to go on."
    ) and chat.said(STEP, n=2)
    assert chat.said(MAIN_MENU)
    await chat.say("thoat")  # typed at the menu: nothing breaks
    await chat.say("hoc")
    assert chat.said(
        'You were learning: <b>{title}</b>. Type "tiep" to go on.', title=lesson.title
    )
    await chat.say("tiep")  # at the list: go on with the lesson in progress
    assert lesson.title in chat.text() and chat.said(STEP, n=2)
    await chat.tap("leave")
    await chat.say("hoc")
    await chat.tap(f"open:{lesson.id}")
    assert chat.said(STEP, n=2)


async def test_stale_buttons_do_not_move_progress(app: BotApp) -> None:
    chat = await farmer(app)
    lesson = first(app)
    await chat.say("/hoc")
    await chat.say("1")
    await chat.tap(f"nx:{lesson.id}:0")
    await chat.tap(f"nx:{lesson.id}:1")
    assert stored_step(app, chat, lesson) == 2
    await chat.tap(f"nx:{lesson.id}:0")  # "Next" from the first step's message
    assert chat.said("That button is from an earlier message. Please answer this question:"), (
        chat.text()
    )
    assert chat.said(STEP, n=3)
    assert stored_step(app, chat, lesson) == 2
    await chat.tap(f"bk:{lesson.id}:0")
    assert stored_step(app, chat, lesson) == 2
    await chat.tap(f"ans:{lesson.id}:{lesson.quiz.answer + 1}")  # a quiz answer before the quiz
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    assert not app.services.lessons.learner(user.id).is_done(lesson.id)
    await chat.say("/menu")
    await chat.tap(f"nx:{lesson.id}:2")  # a lesson button at the main menu
    assert stored_step(app, chat, lesson) == 2


async def test_certificate_after_the_core_course(app: BotApp) -> None:
    chat = await farmer(app)
    service = app.services.lessons
    core = service.lessons.core()
    await chat.say("/hoc")
    for lesson in core[:-1]:
        await finish(chat, lesson)
        assert "GIẤY CHỨNG NHẬN" not in chat.text()
    await finish(chat, core[-1])
    text = chat.text()
    assert "GIẤY CHỨNG NHẬN" in text
    assert "Lan" in text and "Xã Chi Lăng" in text and "26/11/2026" in text
    for lesson in core:
        assert f"✅ {lesson.title}" in text
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    assert service.is_trained(user.id)
    assert service.trained_count() == 1
    assert service.trained_count(user.area) == 1
    assert service.trained_count("that-khe") == 0
    await chat.say("/hoso")
    assert chat.said(PROFILE_PROGRESS, done=8, total=8), chat.text()
    assert chat.said("🎓 Digital-skills course completed on {day}", day="26/11/2026")
    await chat.say("/hoc")
    await chat.tap("cert")
    assert "GIẤY CHỨNG NHẬN" in chat.text()


async def test_profile_shows_progress_and_deleting_data_erases_it(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("/hoc")
    await finish(chat, first(app))
    await chat.say("/hoso")
    assert chat.said(PROFILE_PROGRESS, done=1, total=8), chat.text()
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    app.services.delete_user(user)
    assert app.services.lessons.learner(user.id).lessons == {}


def test_dates_are_the_learners_day_in_vietnam() -> None:
    assert local_day("2026-11-26T20:30:00+00:00") == "27/11/2026"  # 03:30 in Lạng Sơn
    assert local_day("2026-11-26T08:00:00+00:00") == "26/11/2026"
    assert local_day("") == "—"
