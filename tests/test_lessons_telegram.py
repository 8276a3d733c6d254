"""A lesson end to end on real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

from tests.helpers.msgids import said
from tests.helpers.telegram import TelegramBot, payloads, texts

LAN = 5101


async def test_a_lesson_over_telegram_with_a_wrong_then_right_answer_and_a_restart(
    tg: TelegramBot,
) -> None:
    await tg.onboard(LAN)
    assert tg.app is not None
    lesson = tg.app.services.lessons.lessons.lessons[0]
    listing = await tg.text(LAN, "hoc")
    assert said(texts(listing), "<b>Learn digital skills</b>")
    assert f"open:{lesson.id}" in payloads(listing)
    step = await tg.tap(LAN, f"open:{lesson.id}")
    assert said(texts(step), "step {n}/{total}", n=1)
    assert all(len(p.encode()) <= 64 for p in payloads(step))
    await tg.tap(LAN, f"nx:{lesson.id}:0")
    await tg.restart()
    assert tg.app is not None
    resumed = await tg.text(LAN, "tiep")
    assert said(texts(resumed), "step {n}/{total}", n=3)
    for position in range(2, len(lesson.steps)):
        shown = await tg.tap(LAN, f"nx:{lesson.id}:{position}")
    quiz = shown[-1]
    keyboard = quiz["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in keyboard[0]] == ["1", "2", "3"]
    assert lesson.quiz.question in quiz["text"]
    wrong = 1 if lesson.quiz.answer != 0 else 2
    assert said(texts(await tg.text(LAN, str(wrong))), "❌ Not quite.")
    right = await tg.tap(LAN, f"ans:{lesson.id}:{lesson.quiz.answer + 1}")
    assert said(texts(right), "✅ Correct!")
    following = tg.app.services.lessons.lessons.lessons[1]
    assert f"open:{following.id}" in payloads(right)
    assert tg.fake.unanswered_callbacks() == []
