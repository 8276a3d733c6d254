"""The FAQ answer about the commune's team names the team from the records, per asker."""

from __future__ import annotations

from bot.app import BotApp
from bot.services.users import TEAM
from tests.helpers.driver import Chat


async def test_the_team_entry_names_the_askers_own_team(app: BotApp) -> None:
    member = Chat(app, "web:team1", "Hoàng Văn Tổ")
    await member.onboard(role="buyer", phone="0987000222", address="anh")
    user = app.services.users.by_key(member.user_key)
    assert user is not None
    user.roles, user.team_areas = [TEAM], ["chi-lang"]
    app.services.users.save(user)

    farmer = Chat(app, "web:hoi", "Lan")
    await farmer.onboard()
    await farmer.say("so dien thoai to cong nghe so o xa minh la gi")
    assert farmer.said(
        "The digital-tech team of {area} on Nông Dân Số: {names}.",
        area="Xã Chi Lăng",
        names="Hoàng Văn Tổ",
    ), farmer.text()

    far = Chat(app, "web:xa", "Mai")
    await far.onboard(area="dong kinh", phone="0912000333")
    await far.say("so dien thoai to cong nghe so o xa minh la gi")
    assert far.said(
        "{area} has no digital-tech team member on Nông Dân Số yet: questions go to the province"
        " staff."
    ), far.text()
    assert "Hoàng Văn Tổ" not in far.text()
