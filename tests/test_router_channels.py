"""Free text on real channels: the fake Telegram Bot API, and the Zalo Bot's numbered lines."""

from __future__ import annotations

import re

from tests.helpers.msgids import (
    ASK_AVAILABILITY,
    ASK_QUANTITY,
    KG_OR_UNIT,
    RESUME_AT_STEP,
    pattern,
    said,
)
from tests.helpers.telegram import TelegramBot, payloads, texts
from tests.test_zalo_bot import onboard
from tests.zalo_helpers import BotUser, ZaloBot, zalo

__all__ = ["zalo"]
LAN = 7101


async def test_telegram_question_mid_form_then_one_sentence_sale(tg: TelegramBot) -> None:
    await tg.onboard(LAN)
    await tg.tap(LAN, "listings")
    await tg.text(LAN, "na chi lang")
    asked = await tg.text(LAN, "vietgap xin o dau")  # at the grade question
    assert "lf:skip" in payloads(asked)  # the grade question again, under the answer
    assert any(p.startswith(("faq:", "ho:")) for p in payloads(asked)), texts(asked)
    await tg.text(LAN, "bo qua")
    quantity = await tg.text(LAN, "ship di ha noi mat bao lau")
    assert "200 kg" in texts(quantity)  # the quantity question again
    assert tg.app is not None
    user = tg.app.services.users.by_key(f"telegram:{LAN}")
    assert user is not None
    conv = tg.app.services.conversations.get(user.id)
    assert conv.flow == "listings" and conv.state == "quantity"
    assert conv.data["product_id"] == "na-chi-lang" and conv.data["grade"] == ""

    await tg.text(LAN, "huy")
    await tg.text(LAN, "ban 2 ta na gia 40k")
    check = await tg.tap(LAN, "lf:skip")  # grade: the only question before the price's unit
    assert "lf:pk:kg" in payloads(check), texts(check)
    await tg.tap(LAN, "lf:pk:kg")
    await tg.tap(LAN, "lf:now")
    await tg.text(LAN, "ko co anh")
    await tg.text(LAN, "ko co")
    summary = await tg.text(LAN, "bo qua")
    card = texts(summary)
    assert "2 tạ" in card and "40.000\xa0₫/kg" in card and "lf:ok" in payloads(summary)
    assert tg.app.services.listings.all() == []
    await tg.tap(LAN, "lf:ok")
    [listing] = tg.app.services.listings.all()
    assert (listing.quantity, listing.unit, listing.price) == ("2", "tạ", 4_000_000)
    assert tg.fake.violations == []


async def test_zalo_numbered_channel_question_mid_form_and_resume(zalo: ZaloBot) -> None:
    user = BotUser(zalo, "chat-r1")
    await onboard(user)
    await user.say("1")  # Đăng bán
    await user.say("na chi lang")
    await user.say("loai 1 khac loai 2 cho nao")  # a question at the grade step
    farmer = zalo.app.services.users.by_key("zalo_bot:chat-r1")
    assert farmer is not None
    conv = zalo.app.services.conversations.get(farmer.id)
    assert (conv.state, "grade" in conv.data) == ("grade", False)  # asked again, not stored
    await user.say("loai 1")
    await user.say("xem don hang")  # a menu action: the form is put aside
    menu = await user.say("menu")
    resume = pattern(RESUME_AT_STEP, n=3, total=8).pattern
    assert re.search(r"^1\. " + resume, menu, re.M), menu
    back = await user.say("1")
    assert said(back, ASK_QUANTITY), back
    asked = await user.say("2 ta")
    price = await user.say("45 nghin")  # 45.000 ₫ a tạ: asked which unit it meant
    assert said(price, KG_OR_UNIT, unit="tạ"), (asked, price)
    assert said(await user.choose("một kg"), ASK_AVAILABILITY)
