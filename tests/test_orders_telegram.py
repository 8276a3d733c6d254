"""Orders end to end on real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from typing import Any

from bot.services.listings import Certs, Listing
from bot.services.order_jobs import run_due, send_notices
from bot.services.orders import CANCELLED, DELIVERED, NEW
from tests.helpers.msgids import said
from tests.helpers.telegram import TelegramBot, payloads, texts

FARMER, BUYER, INTRUDER = 1001, 2002, 3003


def _listing(tg: TelegramBot, stock: str = "100") -> Listing:
    assert tg.app is not None
    farmer = tg.app.services.users.by_key(f"telegram:{FARMER}")
    assert farmer is not None
    listing = Listing(
        farmer_id=farmer.id,
        area=farmer.area,
        product_id="na-chi-lang",
        product_name="Na Chi Lăng",
        quantity=stock,
        stock=stock,
        price=45000,
        certs=Certs(ocop=4),
    )
    return tg.app.services.listings.add(listing)


async def _press(tg: TelegramBot, user: int, data: str) -> list[dict[str, Any]]:
    """Press a button on any earlier message (or forge one: no check it was shown)."""
    tg.fake.send_callback(user, data, check=False)
    await tg.settle()
    return tg.new_messages(user)


async def _order(tg: TelegramBot, listing: Listing) -> None:
    await tg.tap(BUYER, "buy")
    found = await tg.text(BUYER, "na chi lang")
    assert "45.000\xa0₫/kg" in texts(found) and f"o:{listing.id}" in payloads(found)
    await tg.tap(BUYER, f"o:{listing.id}")
    await tg.text(BUYER, "10 kg")
    await tg.tap(BUYER, "nm:keep")
    await tg.tap(BUYER, "ph:keep")
    await tg.text(BUYER, "12 Trần Đăng Ninh, Lạng Sơn")
    summary = await tg.tap(BUYER, "nt:skip")
    assert "450.000\xa0₫" in texts(summary)
    placed = await tg.tap(BUYER, "cf:yes")
    assert "DH2611-0001" in texts(placed)


async def test_order_confirm_ship_deliver_over_telegram(tg: TelegramBot) -> None:
    await tg.onboard(FARMER, name="Hoa", phone="+84912345678", role="farmer")
    await tg.onboard(BUYER, name="Minh", phone="+84987654321", role="buyer")
    listing = _listing(tg)
    tg.new_messages(FARMER)
    await _order(tg, listing)
    assert tg.app is not None
    order = tg.app.services.orders.by_code("DH2611-0001")
    assert order is not None and order.status == NEW

    alert = tg.new_messages(FARMER)
    assert "DH2611-0001" in texts(alert) and "0987 654 321" in texts(alert)
    assert f"ord:ok:{order.id}" in payloads(alert)

    await tg.tap(FARMER, f"ord:ok:{order.id}")
    told = tg.new_messages(BUYER)
    assert "DH2611-0001" in texts(told) and "0912 345 678" in texts(told)

    await _press(tg, FARMER, f"ord:ship:{order.id}")
    await tg.text(FARMER, "VNP123456")
    assert "VNP123456" in texts(tg.new_messages(BUYER))

    await _press(tg, FARMER, f"ord:done:{order.id}")
    assert "DH2611-0001" in texts(tg.new_messages(BUYER))
    assert tg.app.services.orders.get(order.id).status == DELIVERED  # type: ignore[union-attr]
    assert tg.fake.unanswered_callbacks() == []


async def test_forged_order_button_from_a_third_user_is_refused(tg: TelegramBot) -> None:
    await tg.onboard(FARMER, name="Hoa", phone="+84912345678", role="farmer")
    await tg.onboard(BUYER, name="Minh", phone="+84987654321", role="buyer")
    await tg.onboard(INTRUDER, name="Tèo", phone="+84901234567", role="buyer")
    listing = _listing(tg)
    await _order(tg, listing)
    assert tg.app is not None
    order = tg.app.services.orders.by_code("DH2611-0001")
    assert order is not None
    for verb in ("ok", "no", "v", "cx"):
        seen = texts(await _press(tg, INTRUDER, f"ord:{verb}:{order.id}"))
        assert "DH2611" not in seen and "Trần Đăng Ninh" not in seen and "0987" not in seen
    assert tg.app.services.orders.get(order.id).status == NEW  # type: ignore[union-attr]


async def test_expiry_across_a_restart_over_telegram(tg: TelegramBot) -> None:
    await tg.onboard(FARMER, name="Hoa", phone="+84912345678", role="farmer")
    await tg.onboard(BUYER, name="Minh", phone="+84987654321", role="buyer")
    listing = _listing(tg, stock="10")
    await _order(tg, listing)
    tg.new_messages(FARMER)
    tg.clock.advance(hours=13)
    assert tg.app is not None
    assert await run_due(tg.app.services) == 1
    assert "DH2611-0001" in texts(tg.new_messages(FARMER))  # the reminder
    tg.new_messages(BUYER)
    app = await tg.restart()
    assert await run_due(app.services) == 0
    tg.clock.advance(hours=12)
    assert await run_due(app.services) == 1
    assert "DH2611-0001" in texts(tg.new_messages(FARMER))
    assert "DH2611-0001" in texts(tg.new_messages(BUYER))
    order = app.services.orders.by_code("DH2611-0001")
    assert order is not None and order.status == CANCELLED
    app = await tg.restart()
    tg.clock.advance(days=2)
    assert await run_due(app.services) == 0
    assert tg.new_messages(FARMER) == [] and tg.new_messages(BUYER) == []


async def test_deleting_a_listing_with_an_order_over_telegram(tg: TelegramBot) -> None:
    await tg.onboard(FARMER, name="Hoa", phone="+84912345678", role="farmer")
    await tg.onboard(BUYER, name="Minh", phone="+84987654321", role="buyer")
    listing = _listing(tg)
    await _order(tg, listing)
    assert tg.app is not None
    order = tg.app.services.orders.by_code("DH2611-0001")
    assert order is not None
    tg.new_messages(FARMER)
    tg.new_messages(BUYER)

    asked = await _press(tg, FARMER, f"lst:del:{listing.id}")
    assert said(
        texts(asked),
        "<b>{name}</b> has orders under way: {new} new, {confirmed} confirmed, {shipping} on the way.",
        new=1,
    )
    assert payloads(asked)[:3] == [
        f"lst:pause:{listing.id}",
        f"lst:sold:{listing.id}",
        f"lst:dyc:{listing.id}",
    ]
    done = await _press(tg, FARMER, f"lst:dyc:{listing.id}")
    assert said(texts(done), "Deleted: {name}.", name=listing.product_name), texts(done)
    told = tg.new_messages(BUYER)
    assert "DH2611-0001" in texts(told) and said(texts(told), "the seller withdrew the product")
    assert tg.app.services.orders.get(order.id).status == CANCELLED  # type: ignore[union-attr]
    assert tg.app.services.listings.get(listing.id) is None
    # The buyer still sees the order, from its own copy of the product and price.
    seen = await _press(tg, BUYER, f"ord:v:{order.id}")
    assert "Na Chi Lăng" in texts(seen) and "450.000\xa0₫" in texts(seen)
    assert tg.fake.unanswered_callbacks() == []


async def test_buyer_told_by_the_order_clock_after_the_farmer_deletes_her_data(
    tg: TelegramBot,
) -> None:
    await tg.onboard(FARMER, name="Hoa", phone="+84912345678", role="farmer")
    await tg.onboard(BUYER, name="Minh", phone="+84987654321", role="buyer")
    listing = _listing(tg)
    await _order(tg, listing)
    assert tg.app is not None
    tg.new_messages(BUYER)
    await tg.text(FARMER, "/xoadulieu")
    await tg.tap(FARMER, "del:yes")
    assert tg.new_messages(BUYER) == []  # the deletion hook cannot send
    assert await send_notices(tg.app.services) == 1
    told = tg.new_messages(BUYER)
    assert "DH2611-0001" in texts(told)
    assert await send_notices(tg.app.services) == 0
