"""Orders: never oversold, never seen or changed by anyone else, bad input corrected."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.fmt import esc
from bot.services.listings import SOLD_OUT
from bot.services.orders import CONFIRMED, NEW
from bot.text import clean
from tests.helpers.driver import Chat
from tests.orders_helpers import Inbox, add_listing, order_form, user_id, well_formed

BLNS = json.loads((Path(__file__).parent / "data" / "blns.json").read_text(encoding="utf-8"))
APOLOGY = "Sorry, something went wrong on our side. Please try again, or type /menu."


async def _people(app: BotApp, n_buyers: int = 1) -> tuple[Chat, list[Chat]]:
    farmer = Chat(app, "web:farmer", "Hoàng Thị Hoa")
    await farmer.onboard(role="farmer", phone="0912345678")
    buyers = []
    for i in range(n_buyers):
        buyer = Chat(app, f"web:buyer{i}", f"Khách {i}")
        await buyer.onboard(role="buyer", phone=f"098765432{i}")
        buyers.append(buyer)
    return farmer, buyers


async def test_two_buyers_ordering_the_last_10_kg_at_once(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, (one, two) = await _people(app, 2)
    listing = add_listing(app, farmer, stock="10")
    await order_form(one, listing, "10 kg")
    await order_form(two, listing, "10 kg")
    await asyncio.gather(one.tap("cf:yes"), two.tap("cf:yes"))
    placed = [c for c in (one, two) if "DH2611-0001" in c.text()]
    assert len(placed) == 1
    loser = two if placed[0] is one else one
    assert "DH" not in loser.text()
    assert loser.said(
        "Sorry, this product is no longer available — someone else ordered the last of it."
    ), loser.text()
    assert len(app.services.orders.with_status(NEW)) == 1
    assert inbox.take(farmer.user_key).count("DH2611-") == 1
    # Nothing is left to order while the 10 kg wait for the farmer.
    await loser.tap("buy")
    await loser.say("na chi lang")
    assert f"o:{listing.id}" not in dict(loser.buttons()).values()


async def test_double_confirm_reserves_once(app: BotApp) -> None:
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer, stock="10")
    await order_form(buyer, listing, "10 kg")
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    second = Chat(app, "web:farmer", "Hoàng Thị Hoa")  # the same farmer tapping twice
    await asyncio.gather(farmer.tap(f"ord:ok:{order.id}"), second.tap(f"ord:ok:{order.id}"))
    stored = app.services.listings.get(listing.id)
    assert stored is not None and stored.stock == "0" and stored.status == SOLD_OUT
    assert app.services.orders.get(order.id).status == CONFIRMED  # type: ignore[union-attr]


async def test_confirm_refused_when_stock_was_lowered_meanwhile(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer, stock="10")
    await order_form(buyer, listing, "8 kg")
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    repo = app.services.listings
    lowered = repo.get(listing.id)
    assert lowered is not None
    lowered.stock = "5"  # the farmer sold some at the market and edited her listing
    repo.save(lowered)
    inbox.take(buyer.user_key)
    await farmer.tap(f"ord:ok:{order.id}")
    assert "5 kg" in farmer.text()
    assert app.services.orders.get(order.id).status == NEW  # type: ignore[union-attr]
    assert repo.get(listing.id).stock == "5"  # type: ignore[union-attr]
    assert inbox.take(buyer.user_key) == ""


async def test_third_user_cannot_see_or_change_an_order(
    app: BotApp, caplog: pytest.LogCaptureFixture
) -> None:
    farmer, (buyer, intruder) = await _people(app, 2)
    listing = add_listing(app, farmer)
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    caplog.set_level(logging.WARNING)
    for verb in ("ok", "no", "ship", "done", "cx", "v", "zz"):
        await intruder.tap(f"ord:{verb}:{order.id}")
        text = intruder.text()
        assert "Trần Đăng Ninh" not in text and "0987" not in text and order.code not in text
    await intruder.tap("ord:ok")  # malformed
    await intruder.tap("ord:ok:abc:1")
    await buyer.tap(f"ord:ok:{order.id}")  # the buyer cannot confirm her own order
    await farmer.tap(f"ord:cx:{order.id}")  # nor the farmer cancel as the buyer
    assert app.services.orders.get(order.id).status == NEW  # type: ignore[union-attr]
    refusals = [r for r in caplog.records if "refused ord:" in r.getMessage()]
    assert len(refusals) == 11
    await intruder.say("/donhang")
    await intruder.say(order.code)
    assert "Trần Đăng Ninh" not in intruder.text()


async def test_admin_sees_order_without_phone_or_address(app: BotApp) -> None:
    farmer, (buyer, admin) = await _people(app, 2)
    listing = add_listing(app, farmer)
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    user = app.services.users.by_key(admin.user_key)
    assert user is not None
    user.roles.append("admin")
    app.services.users.save(user)
    await admin.tap(f"ord:v:{order.id}")
    assert order.code in admin.text()
    assert "Trần Đăng Ninh" not in admin.text() and "0987" not in admin.text()
    assert not admin.buttons() or all(not p.startswith("ord:") for _l, p in admin.buttons())


async def test_bad_quantities_get_a_correction_and_the_question_again(app: BotApp) -> None:
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer, stock="100")
    await buyer.tap("buy")
    await buyer.say("na chi lang")
    await buyer.tap(f"o:{listing.id}")
    question = buyer.last[-1].text
    for bad in ("sticker", "0", "500 kg", "2 quả", "mười mấy", ""):
        if bad == "sticker":
            await buyer.other("sticker")
        else:
            await buyer.say(bad)
        assert len(buyer.last) == 2, (bad, buyer.text())
        if bad == "500 kg":
            assert "100 kg" in buyer.last[0].text
        if "sys:retry" in dict(buyer.buttons()).values():
            await buyer.tap("sys:retry")  # every 3rd try the engine offers help instead
        assert buyer.last[-1].text == question, (bad, buyer.text())
    await buyer.say("1 yến")  # 10 kg, converted to the listing's unit
    assert "nm:keep" in dict(buyer.buttons()).values()


async def test_bad_phone_address_and_note(app: BotApp) -> None:
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer)
    await buyer.tap("buy")
    await buyer.say("na chi lang")
    await buyer.tap(f"o:{listing.id}")
    await buyer.say("10")
    await buyer.other("sticker")
    assert "nm:keep" in dict(buyer.buttons()).values()
    await buyer.say("Chị Mai")
    await buyer.say("12345")
    assert any(r.request_contact for r in buyer.last)
    await buyer.share_contact("+84 901 234 567")
    await buyer.say("  ")
    await buyer.other("photo")
    await buyer.say("x" * 301)
    assert "nt:skip" not in dict(buyer.buttons()).values()
    await buyer.say("Thôn Bản Thẩm, Chi Lăng")
    await buyer.say("y" * 301)
    assert "nt:skip" in dict(buyer.buttons()).values()
    await buyer.say("Giao buổi sáng")
    assert "0901 234 567" in buyer.text() and "Giao buổi sáng" in buyer.text()


async def test_naughty_strings_in_the_address_are_escaped(app: BotApp) -> None:
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer)
    await order_form(buyer, listing)
    await buyer.tap("cf:addr")
    for raw in BLNS:
        await buyer.say(raw)
        assert not buyer.said(APOLOGY), raw
        assert all(well_formed(r.text) for r in buyer.last), raw
        if "nt:skip" in dict(buyer.buttons()).values():
            await buyer.tap("nt:skip")
            summary = buyer.last[-1].text
            assert esc(clean(raw)) in summary and well_formed(summary), raw
            await buyer.tap("cf:addr")
        elif not buyer.last[-1].text or "sys:retry" in dict(buyer.buttons()).values():
            await buyer.tap("sys:retry")
    await buyer.say("<script>alert(1)</script> Lạng Sơn")
    await buyer.tap("nt:skip")
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    await farmer.tap(f"ord:v:{order.id}")
    assert "&lt;script&gt;" in farmer.last[0].text and well_formed(farmer.last[0].text)
