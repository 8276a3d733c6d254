"""Zalo OA reach: replies vs proactive messages, Zalo's own refusals, and the URL probe."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.zalo_common import ZaloError
from bot.channels.zalo_oa_state import OutsideWindow
from bot.core.clock import FakeClock
from bot.core.notify import FAILED, OUT_OF_REACH
from bot.core.types import Reply
from bot.services.order_jobs import send_notices
from bot.services.users import User
from tests.console_helpers import team_member
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA
from tests.helpers.driver import Chat
from tests.helpers.msgids import ASK_NAME, said
from tests.orders_helpers import add_listing, order_form, user_id
from tests.test_zalo_linking import TelegramInbox, telegram_farmer, zalo_up_to_phone
from tests.test_zalo_oa import onboard
from tests.zalo_helpers import OAUser, ZaloBot, start_zalo_bot, zalo

__all__ = ["zalo"]

LINKED = "Done! This app is now linked to your account, {name}. Here is what I can do:"
NEW_ORDER = "🛒 <b>New order!</b> Please confirm or decline it."
CALL_THE_FARMER = (
    "📵 Farmer {name} cannot be reached on Zalo right now (no message from them "
    "lately), so they have not seen the news of order {code} ({status}). "
    "Please call them: {phone}."
)


def registered(zalo: ZaloBot, key: str) -> User:
    """The stored user behind an identity."""
    user = zalo.app.services.users.by_key(key)
    assert user is not None
    return user


async def test_answers_go_as_replies_and_notices_to_the_user(zalo: ZaloBot) -> None:
    fake = zalo.oa_fake
    event = await fake.say("r1", "Xin chào")
    await zalo.oa.idle()
    answers = [s for s in fake.sent if s["user_id"] == "r1"]
    assert len(answers) == 2  # the welcome and the first question: both replies to the message
    assert {s["reply_to"] for s in answers} == {event["message"]["msg_id"]}
    assert zalo.oa.windows.counts("r1") == (2, 2)  # two sent, both as replies
    await fake.say("r1", "Lan")  # answering the welcome makes their record
    await zalo.oa.idle()
    assert await zalo.app.services.notifier.notify(
        registered(zalo, "zalo_oa:r1"), lambda: [Reply("Tin")]
    )
    assert fake.sent[-1]["reply_to"] == "" and fake.sent[-1]["user_id"] == "r1"  # proactive
    assert fake.errors == []


async def test_a_refused_reply_is_sent_once_to_the_user_id_and_counted_once(
    zalo: ZaloBot,
) -> None:
    fake = zalo.oa_fake
    fake.accept_message_id = False  # this OA's API version will not take recipient.message_id
    user = OAUser(zalo, "r2")
    answer = await user.say("Xin chào")
    assert said(answer, ASK_NAME), answer
    # The first message was refused as a reply and resent; the second went straight to the user.
    assert [code for code, _why in fake.errors] == [-201]
    assert [s["reply_to"] for s in fake.sent if s["user_id"] == "r2"] == ["", ""]
    assert zalo.oa.windows.room("r2", zalo.app.services.clock.now()) == 8 - 2
    assert zalo.oa.windows.counts("r2") == (2, 0)  # each counted once, as it went: to the user
    assert fake.refreshes == 1  # (start-up) a refused reply never touches the token


async def test_reply_mode_user_id_turns_replies_off(tmp_path: Path, clock: FakeClock) -> None:
    async with FakeZaloOA(clock=clock.now) as fake, FakeZaloBot() as bot_fake:
        zalo = await start_zalo_bot(
            tmp_path / "data", clock, fake, bot_fake, zalo_oa_reply_mode="user_id"
        )
        try:
            assert said(await OAUser(zalo, "r3").say("Xin chào"), ASK_NAME)
            assert zalo.oa.windows.counts("r3") == (2, 0)
        finally:
            await zalo.app.stop()
        assert [s["reply_to"] for s in fake.sent] == ["", ""] and fake.errors == []


@pytest.mark.parametrize("code", [-230, -232, -213])
async def test_zalo_window_and_quota_refusals_are_out_of_reach(zalo: ZaloBot, code: int) -> None:
    user = OAUser(zalo, "q1")
    await onboard(user)
    zalo.oa_fake.refusals["q1"] = code
    with pytest.raises(OutsideWindow, match=f"Zalo answered {code}"):
        await zalo.oa.send("q1", [Reply("Tin")])
    outcome = await zalo.app.services.notifier.deliver(
        registered(zalo, "zalo_oa:q1"), lambda: [Reply("Tin")]
    )
    assert outcome == OUT_OF_REACH and zalo.oa_fake.refreshes == 1


async def test_an_unknown_negative_code_is_a_logged_failure(
    zalo: ZaloBot, caplog: pytest.LogCaptureFixture
) -> None:
    user = OAUser(zalo, "q2")
    await user.say("Xin chào")
    await user.say("Lan")  # answering the welcome makes their record
    zalo.oa_fake.refusals["q2"] = -999
    with pytest.raises(ZaloError, match="-999"):
        await zalo.oa.send("q2", [Reply("Tin")])
    assert "Zalo OA send of a text message failed: -999" in caplog.text
    outcome = await zalo.app.services.notifier.deliver(
        registered(zalo, "zalo_oa:q2"), lambda: [Reply("Tin")]
    )
    assert outcome == FAILED


async def test_the_url_probe_is_answered_and_nothing_processed(zalo: ZaloBot) -> None:
    fake = zalo.oa_fake
    assert await fake.probe(b"{}") == 200
    assert await fake.probe(b"") == 200
    assert await fake.probe(b" { } ") == 200
    # Anything else unsigned is refused: an event, other JSON, junk.
    event = fake.event("user_send_text", "p1", text="Xin chào")
    for body in (b'{"event_name": "user_send_text"}', b'{"app_id": "4321"}', b"[]"):
        assert await fake.probe(body) == 401, body
    assert await fake.probe(b"{") == 400  # not even JSON
    assert await fake.deliver(event, signature=None) == 401
    await zalo.oa.idle()
    assert fake.sent == [] and zalo.app.services.users.all() == []
    # Signed events still work, with "mac=" or bare hex.
    assert await fake.deliver(event) == 200
    assert await fake.deliver(fake.event("user_send_text", "p1", text="Lan"), prefix="mac=") == 200
    await zalo.oa.idle()
    assert len(fake.texts("p1")) == 3


async def test_a_new_order_reaches_the_farmer_on_their_other_app(
    zalo: ZaloBot, clock: FakeClock
) -> None:
    app, fake = zalo.app, zalo.oa_fake
    inbox = TelegramInbox(zalo)
    farmer_tg = await telegram_farmer(zalo)
    user = OAUser(zalo, "z1")
    await zalo_up_to_phone(user)
    await user.choose("liên kết")
    assert said(await user.say(inbox.code()), LINKED)
    farmer = registered(zalo, "zalo_oa:z1")
    assert farmer.last_channel == "zalo_oa:z1"  # notices would go to Zalo first
    listing = add_listing(app, farmer_tg)
    buyer = Chat(app, "web:buyer", "Minh")
    await buyer.onboard(role="buyer", phone="0987654321")
    fake.window = timedelta(hours=24)  # Zalo is stricter than the bot's own 48-hour book
    clock.advance(hours=30)
    sent_before = len(inbox.sent)
    await order_form(buyer, listing, "2 kg")
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    assert fake.errors[-1][0] == -230  # Zalo refused it...
    new = [text for _chat, text in inbox.sent[sent_before:]]
    assert len(new) == 1 and said(new[0], NEW_ORDER) and order.code in new[0]  # ...on Telegram


async def test_a_farmer_out_of_reach_everywhere_gets_their_team_told(
    zalo: ZaloBot,
) -> None:
    app, fake = zalo.app, zalo.oa_fake
    inbox = TelegramInbox(zalo)
    member = team_member(app)  # telegram:222, team of chi-lang
    farmer_oa = OAUser(zalo, "f1")
    await onboard(farmer_oa, phone="0912345678")
    listing = add_listing(app, Chat(app, "zalo_oa:f1"))
    buyer = Chat(app, "web:buyer", "Minh")
    await buyer.onboard(role="buyer", phone="0987654321")
    fake.refusals["f1"] = -230
    await order_form(buyer, listing, "2 kg")
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    told = [text for chat, text in inbox.sent if chat == "222"]
    assert len(told) == 1, inbox.sent
    assert said(told[0], CALL_THE_FARMER, name="Lan", code=order.code, phone="0912 345 678")
    assert member.team_areas == ["chi-lang"]
    assert any(order.code in r.text for r in buyer.last)  # the buyer learns it is placed
    # The buyer deletes their data: the order is cancelled and the farmer's notice is tried
    # on each pass of the order clock; the team is asked to call once, not on every try.
    app.services.delete_user(registered(zalo, "web:buyer"))
    for _pass in range(3):
        assert await send_notices(app.services) == 0
    told = [text for chat, text in inbox.sent if chat == "222"]
    assert len(told) == 2 and said(told[1], CALL_THE_FARMER, code=order.code), told
    assert said(told[1], "cancelled"), told[1]  # the order's new status
    cancelled = app.services.orders.get(order.id)
    assert cancelled is not None and cancelled.notice == "farmer" and cancelled.notice_tries == 3
