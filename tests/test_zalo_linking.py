"""One farmer, two apps: registering on Zalo with a number already registered on Telegram."""

from __future__ import annotations

import re

from bot.core.clock import FakeClock
from bot.core.fmt import to_plain
from bot.core.types import Reply
from bot.services.linking import CODES_PER_DAY
from tests.helpers.driver import MAIN_MENU, Chat
from tests.helpers.msgids import said
from tests.zalo_helpers import BotUser, OAUser, ZaloBot, zalo

__all__ = ["zalo"]

PHONE = "0912345678"

OFFER = (
    "The number {phone} is already registered with Nông Dân Số on {app}. If that is you, I can "
    "link the two: your listings, orders and lessons will be shared, and messages will reach you "
    "in the app you used last."
)
UNREACHABLE = (
    "I could not reach your other account just now, so I cannot link them. Let us go on "
    "registering here; you can ask the digital-tech team to link them later."
)
ASK_AREA = "Which commune or ward do you live in? Type its name, e.g. Chi Lăng or chi lang."


class TelegramInbox:
    """Stands in for the Telegram channel: what notifications reached each chat."""

    def __init__(self, zalo: ZaloBot) -> None:
        self.sent: list[tuple[str, str]] = []
        zalo.app.services.notifier.register("telegram", self.send)

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        self.sent.extend((chat_id, to_plain(r.text)) for r in replies)

    def code(self) -> str:
        """The last code sent."""
        match = re.search(r"\b(\d{6})\b", self.sent[-1][1])
        assert match, self.sent
        return match.group(1)


async def telegram_farmer(zalo: ZaloBot) -> Chat:
    chat = Chat(zalo.app, "telegram:1", "Lan")
    await chat.onboard(role="farmer", phone=PHONE)
    return chat


async def zalo_up_to_phone(user: OAUser) -> str:
    await user.say("Xin chào")
    await user.say("Lan")
    await user.say("chị")
    return await user.say(PHONE)


async def test_zalo_account_linked_to_telegram_after_the_code(zalo: ZaloBot) -> None:
    inbox = TelegramInbox(zalo)
    telegram = await telegram_farmer(zalo)
    users = zalo.app.services.users
    farmer = users.by_key("telegram:1")
    assert farmer is not None
    listing_count = len(zalo.app.services.listings.of_farmer(farmer.id))
    user = OAUser(zalo, "z1")
    offer = await zalo_up_to_phone(user)
    assert said(offer, OFFER, phone="0912 345 678", app="Telegram")
    asked = await user.choose("liên kết")
    assert said(
        asked,
        "I sent a {digits}-digit code to your account on {app}. Please type it here.",
        digits=6,
    )
    assert inbox.sent[-1][0] == "1" and "Zalo" in inbox.sent[-1][1]
    code = inbox.code()
    wrong = "000000" if code != "000000" else "111111"
    assert said(await user.say(wrong), "That code is not right. {left} tries left.", left=2)
    done = await user.say(code)
    assert said(
        done, "Done! This app is now linked to your account, {name}. Here is what I can do:"
    ) and said(done, "<b>Main menu</b>\n{You_name}, what would you like to do?")
    linked = users.by_key("zalo_oa:z1")
    assert linked is not None and linked.id == farmer.id
    assert linked.ident == ["telegram:1", "zalo_oa:z1"] and linked.last_channel == "zalo_oa:z1"
    assert len([u for u in users.all() if u.phone == "+84912345678"]) == 1  # duplicate gone
    assert len(zalo.app.services.listings.of_farmer(linked.id)) == listing_count
    # Notifications now go to Zalo, where the farmer wrote last...
    assert zalo.app.services.notifier.routes(linked)[0] == ("zalo_oa", "z1")
    assert await zalo.app.services.notifier.notify(linked, lambda: [Reply("Có đơn hàng mới")])
    assert zalo.oa_fake.texts("z1")[-1] == "Có đơn hàng mới"
    # ...and back to Telegram once they use it again; it is the same registered account.
    await telegram.say("/menu")
    assert telegram.said(MAIN_MENU)
    again = users.by_key("telegram:1")
    assert again is not None and zalo.app.services.notifier.routes(again)[0] == ("telegram", "1")


async def test_declining_registers_separately(zalo: ZaloBot) -> None:
    inbox = TelegramInbox(zalo)
    await telegram_farmer(zalo)
    user = OAUser(zalo, "z2")
    await zalo_up_to_phone(user)
    assert said(await user.choose("đăng ký riêng"), ASK_AREA)
    assert inbox.sent == []  # no code was sent
    fresh = zalo.app.services.users.by_key("zalo_oa:z2")
    first = zalo.app.services.users.by_key("telegram:1")
    assert fresh is not None and first is not None and fresh.id != first.id


async def test_three_wrong_codes_go_on_with_registration(zalo: ZaloBot) -> None:
    inbox = TelegramInbox(zalo)
    await telegram_farmer(zalo)
    user = OAUser(zalo, "z3")
    await zalo_up_to_phone(user)
    await user.choose("liên kết")
    code = inbox.code()
    wrong = [c for c in ("000000", "111111", "222222", "333333") if c != code][:3]
    await user.say(wrong[0])
    await user.say(wrong[1])
    answer = await user.say(wrong[2])
    assert said(
        answer, "The code was wrong too many times. Let us go on registering here."
    ) and said(answer, ASK_AREA)
    await user.say(code)  # too late: the attempt is over, this is an answer to "which commune"
    fresh = zalo.app.services.users.by_key("zalo_oa:z3")
    first = zalo.app.services.users.by_key("telegram:1")
    assert fresh is not None and first is not None and fresh.id != first.id
    assert first.ident == ["telegram:1"]


async def test_expired_code_and_a_new_one(zalo: ZaloBot, clock: FakeClock) -> None:
    inbox = TelegramInbox(zalo)
    await telegram_farmer(zalo)
    user = OAUser(zalo, "z4")
    await zalo_up_to_phone(user)
    await user.choose("liên kết")
    old = inbox.code()
    clock.advance(minutes=11)
    assert said(await user.say(old), "That code has expired. Tap Send a new code.")
    await user.choose("Gửi mã mới")
    new = inbox.code()
    assert len(inbox.sent) == 2
    if new != old:
        assert said(
            await user.say(old), "That code is not right. {left} tries left."
        )  # the replaced code no longer works
    assert said(
        await user.say(new),
        "Done! This app is now linked to your account, {name}. Here is what I can do:",
    )


async def test_codes_per_day_are_limited(zalo: ZaloBot) -> None:
    inbox = TelegramInbox(zalo)
    await telegram_farmer(zalo)
    user = OAUser(zalo, "z5")
    await zalo_up_to_phone(user)
    await user.choose("liên kết")
    for _ in range(CODES_PER_DAY - 1):
        await user.choose("Gửi mã mới")
    assert len(inbox.sent) == CODES_PER_DAY
    refused = await user.choose("Gửi mã mới")
    assert said(
        refused,
        "Too many codes were sent to that account today. Let us go on registering here.",
    ) and said(refused, ASK_AREA)
    assert len(inbox.sent) == CODES_PER_DAY


async def test_unreachable_account_cannot_be_linked(zalo: ZaloBot) -> None:
    # No Telegram channel runs in this process: the code cannot be delivered.
    await telegram_farmer(zalo)
    user = OAUser(zalo, "z6")
    await zalo_up_to_phone(user)
    answer = await user.choose("liên kết")
    assert said(answer, UNREACHABLE) and said(answer, ASK_AREA)


async def test_telegram_user_links_to_a_zalo_bot_account(zalo: ZaloBot) -> None:
    zalo_user = BotUser(zalo, "zb1")
    await zalo_user.say("Xin chào")
    for step in ("Minh", "anh", PHONE, "chi lang"):
        await zalo_user.say(step)
    await zalo_user.choose("mua")
    await zalo_user.choose("Có")
    telegram = Chat(zalo.app, "telegram:9", "Minh")
    await telegram.say("/start")
    await telegram.say("Minh")
    await telegram.tap("addr:anh")
    await telegram.say(PHONE)
    assert "Zalo Bot" in telegram.text()
    await telegram.tap("link:yes")
    message = zalo.bot_fake.texts("zb1")[-1]
    assert "Telegram" in message
    code = re.search(r"\b(\d{6})\b", message)
    assert code is not None
    await telegram.say(code.group(1))
    assert telegram.said(
        "Done! This app is now linked to your account, {name}. Here is what I can do:"
    )
    linked = zalo.app.services.users.by_key("telegram:9")
    assert linked is not None and linked.ident == ["zalo_bot:zb1", "telegram:9"]
    assert linked.role == "buyer" and linked.registered


async def test_profile_phone_change_offers_no_link(zalo: ZaloBot) -> None:
    inbox = TelegramInbox(zalo)
    await telegram_farmer(zalo)
    web = Chat(zalo.app, "web:w1", "Hoa")
    await web.onboard(role="buyer", phone="0987000111")
    await web.tap("profile")
    await web.tap("edit:phone")
    await web.say(PHONE)  # a registered user changing their number is not a new registration
    assert web.said("Saved.") and inbox.sent == []
    changed = zalo.app.services.users.by_key("web:w1")
    assert changed is not None and changed.ident == ["web:w1"] and changed.phone == "+84912345678"


async def test_unfollowing_one_app_keeps_the_other(zalo: ZaloBot) -> None:
    inbox = TelegramInbox(zalo)
    await telegram_farmer(zalo)
    user = OAUser(zalo, "z7")
    await zalo_up_to_phone(user)
    await user.choose("liên kết")
    await user.say(inbox.code())
    await user.send(zalo.oa_fake.event("unfollow", "z7"))
    linked = zalo.app.services.users.by_key("zalo_oa:z7")
    assert linked is not None and not linked.blocked and linked.last_channel == "telegram:1"
    assert await zalo.app.services.notifier.notify(linked, lambda: [Reply("Có đơn hàng mới")])
    assert inbox.sent[-1] == ("1", "Có đơn hàng mới")
