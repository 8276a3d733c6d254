"""Orders when their listing changes under them: a new quantity, a deleted listing, a farmer
who deletes her data."""

from __future__ import annotations

from decimal import Decimal

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.core.types import Reply
from bot.services.listings import ACTIVE, PAUSED, SOLD_OUT
from bot.services.order_jobs import send_notices
from bot.services.orders import CANCELLED, NEW, SHIPPING, Order
from tests.helpers.driver import Chat, make_app
from tests.helpers.msgids import said
from tests.orders_helpers import Inbox, add_listing, order_form, user_id

ORDERS_IN_UNIT = (
    "This listing has orders counted in {unit}. Please type the amount in {unit} (or another weight "
    "unit, if it is sold by weight)."
)
DELETED_LISTING = (
    "Cannot confirm order {code}: its listing was deleted. Please decline it, so the buyer knows."
)


async def _people(app: BotApp, buyers: int = 1) -> tuple[Chat, list[Chat]]:
    farmer = Chat(app, "web:farmer", "Hoàng Thị Hoa")
    await farmer.onboard(role="farmer", phone="0912345678")
    made = []
    for i in range(buyers):
        buyer = Chat(app, f"web:buyer{i}", f"Khách {i}")
        await buyer.onboard(role="buyer", phone=f"098765432{i}")
        made.append(buyer)
    return farmer, made


async def _order(app: BotApp, buyer: Chat, listing_id: int, qty: str) -> Order:
    listing = app.services.listings.get(listing_id)
    assert listing is not None
    await order_form(buyer, listing, qty)
    await buyer.tap("cf:yes")
    return app.services.orders.of_buyer(user_id(app, buyer))[0]


def _stock(app: BotApp, listing_id: int) -> tuple[str, str, str]:
    listing = app.services.listings.get(listing_id)
    assert listing is not None
    return listing.stock, listing.unit, listing.status


async def test_a_new_quantity_keeps_what_confirmed_orders_took(app: BotApp) -> None:
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer, stock="100")
    order = await _order(app, buyer, listing.id, "30 kg")
    await farmer.tap(f"ord:ok:{order.id}")
    assert _stock(app, listing.id) == ("70", "kg", ACTIVE)

    await farmer.tap(f"lst:ef:{listing.id}:quantity")
    await farmer.say("150 kg")
    assert farmer.said("Saved.")
    assert _stock(app, listing.id) == ("120", "kg", ACTIVE)  # not 150: 30 kg are sold

    await farmer.tap(f"lst:ef:{listing.id}:quantity")
    await farmer.say("20 kg")
    assert "30 kg" in farmer.text() and not farmer.said("Saved.")
    assert _stock(app, listing.id) == ("120", "kg", ACTIVE)  # refused: nothing changed
    await farmer.say("30 kg")  # the same question again: exactly what was sold
    assert _stock(app, listing.id) == ("0", "kg", SOLD_OUT)

    await farmer.tap(f"lst:ef:{listing.id}:quantity")
    await farmer.say("50 quả")  # the 30 kg cannot be counted in quả
    assert _stock(app, listing.id) == ("0", "kg", SOLD_OUT)
    await farmer.say("1 tạ")  # 100 kg, of which 30 sold
    assert _stock(app, listing.id) == ("0.7", "tạ", ACTIVE)

    # Declining the confirmed order gives its 30 kg back, in the listing's new unit.
    await farmer.tap(f"ord:no:{order.id}")
    await farmer.tap("rs:stock")
    assert _stock(app, listing.id) == ("1", "tạ", ACTIVE)


async def test_a_unit_change_must_leave_every_order_countable(
    app: BotApp, clock: FakeClock
) -> None:
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer, stock="100", price=45000)
    order = await _order(app, buyer, listing.id, "40 kg")
    await farmer.tap(f"lst:ef:{listing.id}:quantity")
    await farmer.say("30 quả")  # refused: the new order's 40 kg cannot be counted in quả
    assert _stock(app, listing.id) == ("100", "kg", ACTIVE)
    await farmer.say("1 tạ")  # a weight converts: the new order still waits, in kg
    assert _stock(app, listing.id) == ("1", "tạ", ACTIVE)
    assert app.services.orders.available(app.services.listings.get(listing.id)) == Decimal("0.6")  # type: ignore[arg-type]

    # Checked again when saved: a unit change asks the price again, and an order may be
    # confirmed meanwhile (from a notification on another device).
    app.services.orders.cancel(order.id, "buyer", "", clock.now())
    await farmer.tap(f"lst:ef:{listing.id}:quantity")
    await farmer.say("200 túi")
    assert farmer.said("You now sell by {unit}: please type the price per {unit}.", unit="túi")
    buyer_user = app.services.users.by_key(buyer.user_key)
    assert buyer_user is not None
    placed = app.services.orders.place(
        listing.id,
        buyer_user,
        Decimal("0.2"),
        name="Khách",
        phone="+84987654320",
        address="12 Trần Đăng Ninh",
        note="",
        form_id="other-device",
        now=clock.now(),
    )
    app.services.orders.confirm(placed.id, clock.now())
    await farmer.say("20.000đ")
    assert farmer.said(ORDERS_IN_UNIT, unit="tạ"), farmer.text()  # the amount, asked again
    assert _stock(app, listing.id) == ("0.8", "tạ", ACTIVE)


async def test_deleting_a_listing_with_orders_offers_pause_and_tells_buyers(
    app: BotApp,
) -> None:
    inbox = Inbox(app)
    farmer, (one, two, three) = await _people(app, 3)
    listing = add_listing(app, farmer, stock="100")
    new = await _order(app, one, listing.id, "10 kg")
    confirmed = await _order(app, two, listing.id, "20 kg")
    shipping = await _order(app, three, listing.id, "5 kg")
    for order in (confirmed, shipping):
        await farmer.tap(f"ord:ok:{order.id}")
    await farmer.tap(f"ord:ship:{shipping.id}")
    await farmer.tap("tk:skip")
    for chat in (one, two, three):
        inbox.take(chat.user_key)

    await farmer.tap(f"lst:del:{listing.id}")
    assert farmer.said(
        "<b>{name}</b> has orders under way: {new} new, {confirmed} confirmed, {shipping} on the way.",
        new=1,
        confirmed=1,
        shipping=1,
    )
    payloads = [p for _label, p in farmer.buttons()]
    assert payloads == [
        f"lst:pause:{listing.id}",
        f"lst:sold:{listing.id}",
        f"lst:dyc:{listing.id}",
        f"lst:v:{listing.id}",
    ]
    await farmer.tap(f"lst:dy:{listing.id}")  # an old "yes, delete" button deletes nothing
    assert app.services.listings.get(listing.id) is not None
    await farmer.tap(f"lst:pause:{listing.id}")
    assert _stock(app, listing.id)[2] == PAUSED
    assert app.services.orders.get(new.id).status == NEW  # type: ignore[union-attr]

    await farmer.tap(f"lst:del:{listing.id}")
    await farmer.tap(f"lst:dyc:{listing.id}")
    assert app.services.listings.get(listing.id) is None
    statuses = [app.services.orders.get(o.id).status for o in (new, confirmed, shipping)]  # type: ignore[union-attr]
    assert statuses == [CANCELLED, CANCELLED, SHIPPING]
    for chat, order in ((one, new), (two, confirmed)):
        told = inbox.take(chat.user_key)
        assert order.code in told and said(told, "the seller withdrew the product")
    assert inbox.take(three.user_key) == ""
    assert app.services.orders.notices() == []  # told: nothing left for the order clock

    # Every order view still works from the order's own copy of product, unit and price.
    await two.say("/donmua")
    await two.tap(f"ord:v:{confirmed.id}")
    assert "Na Chi Lăng" in two.text() and "900.000" in two.text()
    await farmer.tap(f"ord:v:{shipping.id}")
    assert "Na Chi Lăng" in farmer.text()
    await farmer.tap(f"ord:done:{shipping.id}")
    assert app.services.orders.get(shipping.id).status == "delivered"  # type: ignore[union-attr]
    await one.tap("buy")
    await one.say("na chi lang")
    assert f"o:{listing.id}" not in [p for _label, p in one.buttons()]


async def test_a_listing_without_open_orders_is_deleted_at_once(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer, stock="50")
    order = await _order(app, buyer, listing.id, "10 kg")
    await farmer.tap(f"ord:no:{order.id}")
    await farmer.tap("rs:stock")
    inbox.take(buyer.user_key)
    await farmer.tap(f"lst:del:{listing.id}")
    assert [p for _label, p in farmer.buttons()] == [
        f"lst:dy:{listing.id}",
        f"lst:v:{listing.id}",
    ]
    await farmer.tap(f"lst:dy:{listing.id}")
    assert app.services.listings.get(listing.id) is None
    assert inbox.take(buyer.user_key) == ""  # a cancelled order is not cancelled again


async def test_an_order_whose_listing_is_gone_is_declined_not_confirmed(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, (buyer,) = await _people(app)
    listing = add_listing(app, farmer, stock="50")
    order = await _order(app, buyer, listing.id, "10 kg")
    app.services.listings.delete(listing.id)  # e.g. by an admin, or before this feature
    await farmer.tap(f"ord:ok:{order.id}")
    assert farmer.said(DELETED_LISTING, code=order.code), farmer.text()
    assert f"ord:no:{order.id}" in [p for _l, p in farmer.buttons()]
    assert app.services.orders.get(order.id).status == NEW  # type: ignore[union-attr]
    await farmer.tap(f"ord:no:{order.id}")
    await farmer.tap("rs:stock")
    assert app.services.orders.get(order.id).status == CANCELLED  # type: ignore[union-attr]
    assert order.code in inbox.take(buyer.user_key)
    await buyer.tap(f"ord:v:{order.id}")
    assert "Na Chi Lăng" in buyer.text()


async def test_buyers_are_told_when_the_farmer_deletes_her_data_even_after_a_restart(
    app: BotApp, clock: FakeClock
) -> None:
    Inbox(app)
    farmer, (buyer, other) = await _people(app, 2)
    listing = add_listing(app, farmer, stock="50")
    waiting = await _order(app, buyer, listing.id, "10 kg")
    kept = await _order(app, other, listing.id, "5 kg")
    await farmer.tap(f"ord:ok:{kept.id}")
    await farmer.say("/xoadulieu")
    await farmer.tap("del:yes")
    cancelled = app.services.orders.get(waiting.id)
    assert cancelled is not None and cancelled.status == CANCELLED
    assert cancelled.notice == "buyer"
    assert app.services.orders.get(kept.id).notice == ""  # type: ignore[union-attr]

    await app.stop()  # the bot stops before the order clock's next pass
    again = make_app(app.settings.data_dir, clock)
    try:
        inbox = Inbox(again)
        assert await send_notices(again.services) == 1
        told = inbox.take(buyer.user_key)
        assert waiting.code in told and said(
            told, "(no longer registered)"
        )  # seller no longer there
        assert inbox.take(other.user_key) == ""
        assert await send_notices(again.services) == 0  # told once
    finally:
        await again.stop()


async def test_a_notice_that_fails_is_tried_again_and_one_for_nobody_is_dropped(
    app: BotApp,
) -> None:
    farmer, (buyer, gone) = await _people(app, 2)
    listing = add_listing(app, farmer, stock="50")
    first = await _order(app, buyer, listing.id, "10 kg")
    second = await _order(app, gone, listing.id, "5 kg")
    gone_user = app.services.users.by_key(gone.user_key)
    assert gone_user is not None

    async def down(platform_id: str, replies: list[Reply]) -> None:
        raise ConnectionError("channel down")

    app.services.notifier.register("web", down)
    await farmer.tap(f"lst:del:{listing.id}")
    await farmer.tap(f"lst:dyc:{listing.id}")
    assert {o.id for o in app.services.orders.notices()} == {first.id, second.id}
    assert await send_notices(app.services) == 0  # still down: both kept for later
    app.services.delete_user(gone_user)  # nobody left to tell about the second order

    inbox = Inbox(app)  # the channel is back
    assert await send_notices(app.services) == 1
    assert first.code in inbox.take(buyer.user_key)
    assert app.services.orders.notices() == []
