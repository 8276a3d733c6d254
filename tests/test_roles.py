"""Roles: invite codes (one-time, expiring), /ma, and the admin's grant/revoke in chat."""

from __future__ import annotations

import re

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.services.roles import normalize_code
from bot.services.users import ADMIN, TEAM
from tests.helpers.driver import Chat
from tests.helpers.msgids import said

CODE = re.compile(r"TCN-[A-Z0-9]+-[A-Z0-9]{4}")


async def member(app: BotApp, key: str, name: str, phone: str, **kw: str) -> Chat:
    chat = Chat(app, key, name)
    await chat.onboard(phone=phone, **kw)
    return chat


async def admin(app: BotApp) -> Chat:
    chat = await member(app, "web:admin", "Quản trị", "0912000099", role="buyer")
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    app.services.roles.grant(user, ADMIN)
    return chat


async def invite_code(chat: Chat, area: str = "chi lang") -> str:
    await chat.say("/quyen")
    await chat.tap("invite")
    await chat.say(area)
    if any(p.startswith("area:") for _l, p in chat.buttons()):
        await chat.tap(next(p for _l, p in chat.buttons() if p.startswith("area:")))
    found = CODE.search(chat.text())
    assert found, chat.text()
    return found.group(0)


async def test_admin_makes_a_code_and_a_farmer_joins_the_team_with_it(app: BotApp) -> None:
    boss = await admin(app)
    code = await invite_code(boss)
    assert code.startswith("TCN-CHILANG-")
    assert "/ma " + code in boss.text()
    mai = await member(app, "web:mai", "Mai", "0912000001")
    await mai.say(f"/ma {code.lower()}")
    assert (
        mai.said(
            "Welcome to the digital-tech team of {area}! You can now send notices to the people of your commune (/thongbao) and answer their questions (/cauhoi)."
        )
        and "Xã Chi Lăng" in mai.text()
    )
    user = app.services.users.by_key("web:mai")
    assert user is not None and TEAM in user.roles and user.team_areas == ["chi-lang"]
    await mai.say("/menu")
    assert any(said(label, "Send a notice") for label, _p in mai.buttons())


async def test_a_code_works_once_and_the_same_person_may_repeat_it(app: BotApp) -> None:
    boss = await admin(app)
    code = await invite_code(boss)
    mai = await member(app, "web:mai", "Mai", "0912000001")
    await mai.say(f"/ma {code}")
    await mai.say(f"/ma {code}")  # a double send (or a crash after the code was spent)
    assert mai.said(
        "Welcome to the digital-tech team of {area}! You can now send notices to the people of your commune (/thongbao) and answer their questions (/cauhoi)."
    )
    lan = await member(app, "web:lan", "Lan", "0912000002")
    await lan.say(f"/ma {code}")
    assert lan.said("Sorry, the code {code} has already been used. Each code works once.")
    user = app.services.users.by_key("web:lan")
    assert user is not None and TEAM not in user.roles


async def test_expired_and_unknown_codes_are_refused_and_asked_again(
    app: BotApp, clock: FakeClock
) -> None:
    boss = await admin(app)
    code = await invite_code(boss)
    clock.advance(days=8)
    lan = await member(app, "web:lan", "Lan", "0912000002")
    await lan.say(f"/ma {code}")
    assert lan.said(
        "Sorry, the code {code} has expired. Please ask an administrator for a new one."
    )
    await lan.say("TCN-CHILANG-0000")
    assert lan.said("Sorry, I do not know the code {code}. Please check it and type it again.")
    await lan.say("<b>&")
    assert "&lt;b&gt;&amp;" in lan.last[0].text
    user = app.services.users.by_key("web:lan")
    assert user is not None and TEAM not in user.roles


async def test_ma_without_a_code_asks_for_it(app: BotApp) -> None:
    boss = await admin(app)
    code = await invite_code(boss, "bac son")
    lan = await member(app, "web:lan", "Lan", "0912000002")
    await lan.say("/ma")
    assert lan.said("Please type your invite code, for example TCN-CHILANG-7KQ2.")
    await lan.say(f"  {code}  ")
    assert lan.said(
        "Welcome to the digital-tech team of {area}! You can now send notices to the people of your commune (/thongbao) and answer their questions (/cauhoi)."
    )
    user = app.services.users.by_key("web:lan")
    assert user is not None and user.team_areas == ["bac-son"]


async def test_a_farmer_cannot_manage_roles(app: BotApp) -> None:
    lan = await member(app, "web:lan", "Lan", "0912000002")
    await lan.say("/quyen")
    assert lan.said("Sorry, only administrators can manage roles.")
    await lan.tap("invite")
    assert not CODE.search(lan.text())
    await lan.say("/menu")
    assert not any("Phân quyền" in label for label, _p in lan.buttons())


async def test_admin_grants_and_revokes_roles_in_chat(app: BotApp) -> None:
    boss = await admin(app)
    await member(app, "web:lan", "Lan", "0912000002")
    await boss.say("/quyen")
    await boss.tap("grant")
    await boss.say("0912 000 002")
    await boss.tap("role:team")
    await boss.say("chi lang")
    assert boss.said(
        "{name} is now in the digital-tech team of {area}.", name="Lan", area="Xã Chi Lăng"
    )
    user = app.services.users.by_key("web:lan")
    assert user is not None and user.team_areas == ["chi-lang"]
    await boss.say("/quyen")
    assert f"#{user.id} Lan" in boss.text() and boss.said("team: {areas}", areas="Xã Chi Lăng")
    await boss.tap("revoke")
    await boss.tap(f"who:{user.id}")
    await boss.tap("rv:team:chi-lang")
    assert boss.said("Done: {name} — {role} removed.")
    user = app.services.users.by_key("web:lan")
    assert user is not None and TEAM not in user.roles and user.team_areas == []


async def test_admin_grants_admin_by_user_number(app: BotApp) -> None:
    boss = await admin(app)
    await member(app, "web:lan", "Lan", "0912000002")
    user = app.services.users.by_key("web:lan")
    assert user is not None
    await boss.say("/quyen")
    await boss.tap("grant")
    await boss.say("#999")
    assert boss.said("I found nobody registered as {typed}.")
    await boss.say(f"#{user.id}")
    await boss.tap("role:admin")
    assert boss.said("{name} is now an administrator.")
    granted = app.services.users.get(user.id)
    assert granted is not None and app.services.users.is_admin(granted)


def test_typed_codes_are_normalized() -> None:
    assert normalize_code(" tcn chilang 7kq2 ") == "TCN-CHILANG-7KQ2"
    assert normalize_code("TCN--CHILANG-7KQ2") == "TCN-CHILANG-7KQ2"
