"""Onboarding and the engine's promises, driven through the channel-neutral engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.core.types import Incoming
from tests.helpers.driver import MAIN_MENU, Chat, make_app
from tests.helpers.msgids import ASK_AREA, ASK_HOW_TO_CALL, ASK_PHONE_SHARED, WELCOME
from tests.helpers.msgids import ASK_PHONE_TYPED as ASK_PHONE

BLNS: list[str] = json.loads((Path(__file__).parent / "data" / "blns.json").read_text())


async def test_onboarding_by_buttons(app: BotApp) -> None:
    chat = Chat(app, "telegram:77", "Hoàng Thị Lan")
    await chat.say("/start")
    assert chat.said(WELCOME)
    assert "Hoàng Thị Lan" in chat.text()  # offered as the default name
    await chat.tap("name:keep")
    assert chat.said(ASK_HOW_TO_CALL, name="Lan")
    assert chat.buttons()[0] == ("1. Chị Lan", "addr:chi")  # "Thị" suggests chị, offered first
    await chat.tap("addr:chi")
    assert any(r.request_contact for r in chat.last)
    assert chat.said(ASK_PHONE_SHARED)
    assert "Số điện thoại của chị" in chat.text()  # the address form she chose, in place
    await chat.share_contact("+84912345678")
    assert chat.said(ASK_AREA)
    await chat.say("Chi Lăng")
    await chat.tap("farmer")
    await chat.tap("crop:na-chi-lang")
    assert "✅ Na Chi Lăng" in [label.split(". ", 1)[1] for label, _p in chat.buttons()]
    await chat.tap("crop:done")
    await chat.tap("consent:yes")
    assert chat.said(MAIN_MENU)
    user = app.services.users.by_key("telegram:77")
    assert user is not None and user.registered
    assert (user.name, user.phone, user.area, user.role) == (
        "Hoàng Thị Lan",
        "+84912345678",
        "chi-lang",
        "farmer",
    )
    assert user.crops == ["na-chi-lang"] and user.consent


async def test_onboarding_by_typed_numbers_and_words_without_diacritics(app: BotApp) -> None:
    chat = Chat(app, "web:typer", "")
    await chat.say("/start")
    await chat.say("Nong Van Binh")
    await chat.say("bac")  # the term typed without diacritics
    await chat.say("0912 345 678")
    await chat.say("x. chi lang")
    await chat.say("toi muon mua")  # words of the "buy" option
    assert chat.said(
        "The commune's digital-tech team sometimes sends useful guidance (selling tips, scam warnings, training days). Would you like to receive it? You can change this any time."
    )
    await chat.say("2")  # no guidance
    user = app.services.users.by_key("web:typer")
    assert user is not None and user.registered and user.role == "buyer" and not user.consent
    assert user.name == "Nong Van Binh" and user.address == "bac"


async def test_bad_input_gets_a_correction_and_the_same_question(app: BotApp) -> None:
    chat = Chat(app, "web:bad")
    await chat.say("/start")
    await chat.other("sticker")
    assert chat.said("Please type your name in letters.") and chat.said("What is your name?")
    await chat.say("x" * 5000)
    assert chat.said("That is too long for a name (at most {max} characters).", max=64)
    await chat.say("Lan")
    await chat.say("🙂")
    assert chat.said("Please tap one of the buttons, or type its number.")
    assert chat.said(ASK_HOW_TO_CALL, name="Lan")
    await chat.say("5")  # the fifth line: Chị Lan
    await chat.say("12345")
    assert chat.said(
        "That does not look like a Vietnamese mobile number. Please type 10 digits, e.g. 0912 345 678."
    )
    await chat.photo()
    assert chat.said("Please type your phone number, e.g. 0912 345 678.")
    # the third failure at one question offers help instead of looping
    await chat.say("abc")
    assert any(p == "sys:menu" for _l, p in chat.buttons())
    await chat.tap("sys:retry")
    assert chat.said(ASK_PHONE)


async def test_unknown_area_then_did_you_mean(app: BotApp) -> None:
    chat = Chat(app, "web:area")
    await chat.say("/start")
    await chat.say("Lan")
    await chat.tap("addr:co")
    await chat.say("0987654321")
    await chat.say("Hà Nội xyz")
    assert chat.said(
        'I could not find the commune "{typed}" in Lạng Sơn. Please check the name and type it again.'
    )
    await chat.say("chi lan")  # a typo: either matched outright or offered
    if any(p.startswith("area:") for _l, p in chat.buttons()):
        await chat.tap(next(p for _l, p in chat.buttons() if p.startswith("area:chi")))
    assert chat.said("Are you selling or buying?")


async def test_restart_mid_form_carries_on(tmp_path: Path, clock: FakeClock) -> None:
    data = tmp_path / "data"
    app = make_app(data, clock)
    chat = Chat(app, "web:restart")
    await chat.say("/start")
    await chat.say("Lan")
    await chat.say("chị")
    await chat.say("0912345678")
    await app.stop()

    app = make_app(data, clock)
    chat = Chat(app, "web:restart")
    await chat.say("chi lang")
    assert chat.said("Are you selling or buying?")
    await app.stop()


async def test_redelivered_update_changes_nothing(app: BotApp) -> None:
    chat = Chat(app, "telegram:42")
    await chat.say("/start")
    first = Incoming("telegram", "telegram:42", "text", text="Lan", event_id="1001")
    assert await chat.send(first)
    assert await chat.send(first) == []  # the same update_id again: no reply, no change
    await chat.tap("addr:chi")
    await chat.say("0912345678")
    assert chat.said(ASK_AREA)


async def test_cancel_words_leave_any_flow(app: BotApp) -> None:
    chat = Chat(app, "web:cancel")
    await chat.onboard()
    await chat.tap("profile")
    await chat.tap("edit:name")
    assert chat.said("What is your name?")
    await chat.say("Hủy")
    assert chat.said("Cancelled.") and chat.said(MAIN_MENU)
    for word in ("/huy", "thoat", "MENU", "/menu"):
        await chat.tap("profile")
        await chat.say(word)
        assert chat.said(MAIN_MENU)


async def test_help_and_unknown_command(app: BotApp) -> None:
    chat = Chat(app, "web:help")
    await chat.onboard()
    await chat.say("/help")
    assert "/huy" in chat.text() and chat.said(MAIN_MENU)
    await chat.say("/khongcolenhnay")
    assert chat.said("I do not know that command. Type /help to see what I can do.")


async def test_returning_user_start_shows_menu(app: BotApp) -> None:
    chat = Chat(app, "web:back")
    await chat.onboard()
    await chat.say("/start")
    assert chat.said(MAIN_MENU) and not chat.said("What is your name?")


async def test_profile_edit_language_and_delete(app: BotApp) -> None:
    chat = Chat(app, "web:prof")
    await chat.onboard()
    await chat.say("ho so")  # menu by words
    assert chat.said("<b>Your profile</b>") and "0912 345 678" in chat.text()
    await chat.tap("edit:phone")
    await chat.say("0387654321")
    assert "0387 654 321" in chat.text()
    await chat.say("/ngonngu")
    await chat.say("english")
    assert "Main menu" in chat.text()
    await chat.say("/xoadulieu")
    await chat.tap("del:yes")
    assert app.services.users.by_key("web:prof") is None
    await chat.say("hello")  # a new, unregistered user again
    assert chat.said(WELCOME)


async def test_stale_button_is_refused_with_the_question_again(app: BotApp) -> None:
    chat = Chat(app, "web:stale")
    await chat.say("/start")
    await chat.say("Lan")
    await chat.tap("consent:yes")  # a button from a question not asked yet
    assert chat.said("That button is from an earlier message. Please answer this question:")
    assert chat.said(ASK_HOW_TO_CALL, name="Lan")


async def test_internal_error_apologises_and_others_go_on(app: BotApp) -> None:
    chat = Chat(app, "web:boom")
    await chat.say("/start")

    async def broken(ctx: object, msg: object) -> object:
        raise RuntimeError("boom")

    flow = app.engine.flows["onboarding"]
    original = flow.states["name"]
    flow.states["name"] = type(original)(original.ask, broken)  # type: ignore[arg-type]
    try:
        await chat.say("Lan")
        assert chat.said(
            "Sorry, something went wrong on our side. Please try again, or type /menu."
        )
    finally:
        flow.states["name"] = original
    other = Chat(app, "web:fine")
    await other.say("/start")
    assert other.said("What is your name?")


@pytest.mark.parametrize("field", ["name", "area"])
async def test_every_naughty_string_gets_a_reply(app: BotApp, field: str) -> None:
    chat = Chat(app, f"web:blns-{field}")
    await chat.say("/start")
    if field == "area":
        await chat.say("Lan")
        await chat.say("chi")
        await chat.say("0912345678")
    for i, naughty in enumerate(BLNS):
        if not naughty.strip():
            continue
        replies = await chat.say(naughty)
        assert replies, f"no reply to BLNS #{i}: {naughty!r}"
        for reply in replies:
            assert 0 < len(reply.text) <= 4096
        user = app.services.users.by_key(chat.user_key)
        assert user is not None
        conv = app.services.conversations.get(user.id)
        if field == "name" and conv.state != "name":  # accepted: back to the name question
            assert user.name
            conv.state = "name"
            app.services.conversations.save(conv)
        elif field == "area" and user.area:
            user.area = ""
            app.services.users.save(user)
            conv = app.services.conversations.get(user.id)
            conv.flow, conv.state = "onboarding", "area"
            app.services.conversations.save(conv)


def test_plain_channels_number_buttons_across_replies() -> None:
    from bot.channels.plain import PlainSession
    from bot.core.types import Button, Reply

    session = PlainSession()
    texts = session.render(
        [
            Reply(
                "Did this help?", buttons=[[Button("👍", "faq:up:1"), Button("👎", "faq:dn:1")]]
            ),
            Reply(
                "Menu", buttons=[[Button("1. Sell", "listings")], [Button("2. Learn", "lessons")]]
            ),
        ]
    )
    assert texts[1].endswith("3. Sell\n4. Learn")
    pressed = session.press(Incoming("zalo_bot", "zalo_bot:1", "text", text="3"))
    assert (pressed.kind, pressed.payload) == ("button", "listings")
    listed = session.render(
        [Reply("Lessons\n1. Postmart", buttons=[[Button("1. Postmart", "l:1")]])]
    )
    assert listed == ["Lessons\n1. Postmart"]  # not listed twice


async def test_handled_update_ids_are_forgotten_after_two_days(
    app: BotApp, clock: FakeClock
) -> None:
    seen = app.services.seen
    now = clock.now().timestamp()
    seen.mark("telegram:1", now)
    seen.mark("telegram:2", now - 3 * 86_400)
    assert seen.prune(now) == 1
    assert seen.seen("telegram:1") and not seen.seen("telegram:2")


async def test_configured_admin_sees_admin_menu_entries(tmp_path: Path, clock: FakeClock) -> None:
    app = make_app(tmp_path / "adm", clock, admin_telegram_ids=frozenset({"4242"}))
    try:
        admin = Chat(app, "telegram:4242", "Cán bộ tỉnh")
        await admin.onboard(role="buyer")
        seen_by_admin = {p for _label, p in admin.buttons()}
        assert {"roles", "broadcast"} <= seen_by_admin
        farmer = Chat(app, "telegram:5151", "Lan")
        await farmer.onboard()
        assert not {"roles", "broadcast"} & {p for _label, p in farmer.buttons()}
    finally:
        await app.stop()
