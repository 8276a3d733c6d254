"""A team member sees their area's lesson progress in chat; farmers cannot; admins see any area."""

from __future__ import annotations

import re

from bot.app import BotApp
from bot.core.clock import FakeClock
from tests.helpers.driver import MAIN_MENU, Chat
from tests.helpers.msgids import pattern, said

HOUSEHOLDS = "Households: {all} · finished the core course: {done} · learning: {doing} · not started: {idle}"


async def register(app: BotApp, key: str, name: str, phone: str, **kw: str) -> Chat:
    chat = Chat(app, key, name)
    await chat.onboard(phone=phone, **kw)
    return chat


async def make_role(app: BotApp, chat: Chat, role: str, areas: list[str]) -> None:
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    user.roles = [role]
    user.team_areas = areas
    app.services.users.save(user)


async def village(app: BotApp, clock: FakeClock) -> tuple[Chat, Chat, Chat]:
    """Three farmers of Chi Lăng: one trained, one stuck in lesson 2, one not started."""
    service = app.services.lessons
    hoa = await register(app, "web:hoa", "Hoa", "0912000001")
    await hoa.say("/hoc")
    for lesson in service.lessons.core():
        await hoa.tap(f"open:{lesson.id}")
        for step in range(len(lesson.steps)):
            await hoa.tap(f"nx:{lesson.id}:{step}")
        await hoa.tap(f"ans:{lesson.id}:{lesson.quiz.answer + 1}")
    assert "GIẤY CHỨNG NHẬN" in hoa.text()
    clock.advance(days=1)
    binh = await register(app, "web:binh", "Bình", "0912000002")
    first, second = service.lessons.lessons[:2]
    await binh.say("/hoc")
    await binh.tap(f"open:{first.id}")
    for step in range(len(first.steps)):
        await binh.tap(f"nx:{first.id}:{step}")
    await binh.tap(f"ans:{first.id}:{first.quiz.answer + 1}")
    await binh.tap(f"open:{second.id}")
    await binh.tap(f"nx:{second.id}:0")
    cuc = await register(app, "web:cuc", "Cúc", "0912000003")
    return hoa, binh, cuc


async def test_team_member_sees_who_finished_and_who_is_stuck(
    app: BotApp, clock: FakeClock
) -> None:
    await village(app, clock)
    second = app.services.lessons.lessons.lessons[1]
    team = await register(app, "web:team", "Tổ viên Mai", "0912000009", role="buyer")
    await make_role(app, team, "team", ["chi-lang"])
    await team.say("/menu")
    assert any(said(label, "📊 Lesson progress of my area") for label, _p in team.buttons())
    await team.say("tien do")
    text = team.text()
    assert said(text, "<b>Lesson progress — {area}</b>", area="Xã Chi Lăng"), text
    assert said(text, HOUSEHOLDS, all=3, done=1, doing=1, idle=1), text
    assert "🎓 Hoa (0912 000 001) — 26/11/2026" in text
    at_step = pattern(
        "{lesson}, step {n}/{steps}", lesson=second.title, n=2, steps=len(second.steps)
    )
    assert re.search(r"Bình \(0912 000 002\) — " + at_step.pattern, text), text
    assert said(text, "{done}/{total} core, last active {day}", done=1, total=8, day="27/11/2026")
    assert re.search(pattern("<b>Not started:</b>").pattern + r"\s+Cúc", text), text
    assert "Mai" not in text  # a buyer who never took a lesson is not counted
    assert app.services.lessons.trained_count("chi-lang") == 1


async def test_a_farmer_is_refused_the_area_progress(app: BotApp, clock: FakeClock) -> None:
    hoa, _binh, _cuc = await village(app, clock)
    await hoa.say("/menu")
    assert not any(said(label, "📊 Lesson progress of my area") for label, _p in hoa.buttons())
    await hoa.say("/tiendo")
    text = hoa.text()
    assert said(
        text,
        "Sorry, the lesson progress of an area is only for the community digital-tech team. You can see your own progress in <b>Learn digital skills</b>.",
    )
    assert "Bình" not in text and "0912" not in text
    await hoa.say("tien do")
    assert hoa.said(MAIN_MENU)


async def test_team_member_cannot_see_another_area(app: BotApp, clock: FakeClock) -> None:
    await village(app, clock)
    team = await register(app, "web:team", "Mai", "0912000009", area="that khe", role="buyer")
    await make_role(app, team, "team", ["that-khe"])
    await team.say("/tiendo")
    assert team.said("<b>Lesson progress — {area}</b>", area="Xã Thất Khê")
    assert team.said(
        "Households: {all} · finished the core course: {done} · learning: {doing} · not started: {idle}",
        all=0,
    )
    await team.say("chi lang")
    assert team.said("Sorry, you can only see the communes of your own team.")
    assert "Hoa" not in team.text()


async def test_admin_picks_any_area_by_typing_its_name(app: BotApp, clock: FakeClock) -> None:
    await village(app, clock)
    boss = await register(app, "web:boss", "Thu", "0912000010", area="that khe", role="buyer")
    await make_role(app, boss, "admin", [])
    await boss.say("/tiendo")
    assert boss.said("Which commune or ward? Tap it or type its name.")
    await boss.say("x. chi lang")
    assert boss.said("<b>Lesson progress — {area}</b>", area="Xã Chi Lăng")
    assert "Hoa (0912 000 001)" in boss.text()
    await boss.say("/tiendo that khe")
    assert boss.said("<b>Lesson progress — {area}</b>", area="Xã Thất Khê")
