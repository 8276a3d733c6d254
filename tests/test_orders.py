"""Orders end to end through the engine: search, order, notify, confirm, ship, deliver."""

from __future__ import annotations

from decimal import Decimal

from bot.app import BotApp
from bot.services.listings import SOLD_OUT
from bot.services.orders import CANCELLED, CONFIRMED, DELIVERED, NEW, SHIPPING
from tests.helpers.driver import Chat
from tests.orders_helpers import Inbox, add_listing, order_form, user_id, well_formed


async def _people(app: BotApp) -> tuple[Chat, Chat]:
    farmer = Chat(app, "web:farmer", "Hoàng Thị Hoa")
    buyer = Chat(app, "web:buyer", "Nguyễn Văn Minh")
    await farmer.onboard(role="farmer", phone="0912345678")
    await buyer.onboard(role="buyer", phone="0987654321")
    return farmer, buyer


async def test_buyer_finds_orders_and_farmer_confirms_ships_delivers(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, buyer = await _people(app)
    listing = add_listing(app, farmer, stock="100")

    await buyer.tap("buy")
    await buyer.say("na chi lang")
    assert "Na Chi Lăng" in buyer.text()
    assert "45.000\xa0₫/kg" in buyer.text()
    assert "OCOP 4★" in buyer.text()
    assert any(r.photos == ["tg:NA_PHOTO"] for r in buyer.last)
    await buyer.tap(f"o:{listing.id}")
    await buyer.say("10 kg")
    await buyer.tap("nm:keep")
    await buyer.tap("ph:keep")
    await buyer.say("12 Trần Đăng Ninh, Lạng Sơn")
    await buyer.tap("nt:skip")
    assert "450.000\xa0₫" in buyer.text()
    await buyer.tap("cf:yes")
    assert "DH2611-0001" in buyer.text()

    order = app.services.orders.by_code("DH2611-0001")
    assert order is not None and order.status == NEW and order.total == 450_000
    note = inbox.take_replies(farmer.user_key)
    assert len(note) == 1 and "DH2611-0001" in note[0].text
    # The farmer ships to the buyer: she sees the phone and address.
    assert "0987 654 321" in note[0].text and "Trần Đăng Ninh" in note[0].text
    payloads = [b.payload for row in note[0].buttons for b in row]
    assert payloads == [f"ord:ok:{order.id}", f"ord:no:{order.id}"]

    await farmer.tap(f"ord:ok:{order.id}")
    stored = app.services.listings.get(listing.id)
    assert stored is not None and stored.stock == "90"
    told = inbox.take(buyer.user_key)
    assert "DH2611-0001" in told and "0912 345 678" in told  # now the seller's phone

    await farmer.tap(f"ord:ship:{order.id}")
    await farmer.say("VNP123456")
    assert app.services.orders.get(order.id).status == SHIPPING  # type: ignore[union-attr]
    assert "VNP123456" in inbox.take(buyer.user_key)

    await farmer.tap(f"ord:done:{order.id}")
    assert app.services.orders.get(order.id).status == DELIVERED  # type: ignore[union-attr]
    assert "DH2611-0001" in inbox.take(buyer.user_key)

    await farmer.say("/donhang")
    assert "450.000\xa0₫" in farmer.text()  # this month's revenue
    await buyer.say("/donmua")
    assert any("DH2611-0001" in label for label, _p in buyer.buttons())


async def test_order_codes_count_per_day(app: BotApp, clock: object) -> None:
    farmer, buyer = await _people(app)
    listing = add_listing(app, farmer, stock="100")
    codes = []
    for _ in range(2):
        await order_form(buyer, listing, "1 kg")
        await buyer.tap("cf:yes")
        codes.append(app.services.orders.of_buyer(user_id(app, buyer))[0].code)
    clock.advance(days=1)  # type: ignore[attr-defined]
    await order_form(buyer, listing, "1 kg")
    await buyer.tap("cf:yes")
    codes.append(app.services.orders.of_buyer(user_id(app, buyer))[0].code)
    assert codes == ["DH2611-0001", "DH2611-0002", "DH2711-0001"]


async def test_search_loose_names_and_certification_filter(app: BotApp) -> None:
    farmer, buyer = await _people(app)
    na = add_listing(app, farmer)
    hong = add_listing(
        app,
        farmer,
        product_id="hong-khong-hat-bao-lam",
        product_name="Hồng không hạt Bảo Lâm",
        price=60000,
    )
    from bot.services.listings import Certs

    thach = add_listing(
        app,
        farmer,
        product_id="thach-den-trang-dinh",
        product_name="Thạch đen Tràng Định",
        certs=Certs(),
    )
    await buyer.tap("buy")
    await buyer.say("hong")
    assert f"o:{hong.id}" in dict(buyer.buttons()).values()
    assert f"o:{na.id}" not in dict(buyer.buttons()).values()
    await buyer.tap("r:new")
    await buyer.say("thach den trang dinh")
    assert f"o:{thach.id}" in dict(buyer.buttons()).values()
    await buyer.tap("r:cert")
    await buyer.tap("c:ocop")  # thạch đen has no OCOP: nothing left
    assert f"o:{thach.id}" not in dict(buyer.buttons()).values()
    await buyer.say("na chi lang")
    assert f"o:{na.id}" in dict(buyer.buttons()).values()
    await buyer.say("/menu")
    await buyer.tap("buy")
    await buyer.tap("f:prod")
    assert "p:na-chi-lang" in dict(buyer.buttons()).values()
    await buyer.tap("p:hong-khong-hat-bao-lam")
    assert f"o:{hong.id}" in dict(buyer.buttons()).values()


async def test_results_are_paged_by_five(app: BotApp) -> None:
    farmer, buyer = await _people(app)
    listings = [add_listing(app, farmer, price=40000 + i) for i in range(7)]
    await buyer.tap("buy")
    await buyer.tap("f:all")
    first = [p for _l, p in buyer.buttons() if p.startswith("o:")]
    assert len(first) == 5 and "r:next" in dict(buyer.buttons()).values()
    await buyer.tap("r:next")
    second = [p for _l, p in buyer.buttons() if p.startswith("o:")]
    assert len(second) == 2
    assert sorted(first + second) == sorted(f"o:{x.id}" for x in listings)


async def test_buyer_cancels_new_order_and_farmer_is_told(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, buyer = await _people(app)
    listing = add_listing(app, farmer, stock="10")
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    inbox.take(farmer.user_key)
    await buyer.say("/donmua")
    await buyer.tap(f"ord:v:{order.id}")
    assert f"ord:cx:{order.id}" in dict(buyer.buttons()).values()
    await buyer.tap(f"ord:cx:{order.id}")
    assert app.services.orders.get(order.id).status == CANCELLED  # type: ignore[union-attr]
    assert order.code in inbox.take(farmer.user_key)
    # Cancelled: the 10 kg are free again for the next buyer.
    assert app.services.orders.available(app.services.listings.get(listing.id)) == 10  # type: ignore[arg-type]


async def test_decline_after_confirm_gives_stock_back_and_sold_out_returns(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, buyer = await _people(app)
    listing = add_listing(app, farmer, stock="10")
    await order_form(buyer, listing, "10 kg")
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    await farmer.tap(f"ord:ok:{order.id}")
    stored = app.services.listings.get(listing.id)
    assert stored is not None and stored.stock == "0" and stored.status == SOLD_OUT
    inbox.take(buyer.user_key)
    await farmer.tap(f"ord:no:{order.id}")
    await farmer.tap("rs:ship")
    assert app.services.orders.get(order.id).status == CANCELLED  # type: ignore[union-attr]
    stored = app.services.listings.get(listing.id)
    assert stored is not None and stored.stock == "10" and stored.status == "active"
    assert order.code in inbox.take(buyer.user_key)


async def test_decline_with_typed_reason_reaches_buyer_escaped(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer, buyer = await _people(app)
    listing = add_listing(app, farmer)
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    await farmer.tap(f"ord:no:{order.id}")
    await farmer.say("Hết <b>na</b> & mưa")
    told = inbox.take_replies(buyer.user_key)
    assert told and "Hết &lt;b&gt;na&lt;/b&gt; &amp; mưa" in told[0].text
    assert well_formed(told[0].text)


async def test_outside_order_is_recorded_confirmed_and_counted(app: BotApp) -> None:
    farmer, _buyer = await _people(app)
    listing = add_listing(app, farmer, stock="50")
    await farmer.say("/donhang")
    await farmer.tap("h:out")
    await farmer.tap(f"l:{listing.id}")
    await farmer.say("hai yến")  # 20 kg, said the spoken way
    await farmer.say("Chị Lan")
    await farmer.tap("op:skip")
    await farmer.tap("ch:zalo")
    await farmer.tap("oc:yes")
    assert "DH2611-0001" in farmer.text()
    order = app.services.orders.by_code("DH2611-0001")
    assert order is not None and order.status == CONFIRMED and order.qty == Decimal(20)
    assert order.channel == "zalo" and order.buyer_id == 0
    assert app.services.listings.get(listing.id).stock == "30"  # type: ignore[union-attr]
    totals = app.services.orders.month_totals(user_id(app, farmer), app.services.clock.now())
    assert totals.orders == 1 and totals.revenue == 900_000 and totals.delivered == 0


async def test_deleting_the_buyer_blanks_personal_fields_for_the_farmer(app: BotApp) -> None:
    farmer, buyer = await _people(app)
    listing = add_listing(app, farmer)
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    order = app.services.orders.of_buyer(user_id(app, buyer))[0]
    await farmer.tap(f"ord:ok:{order.id}")
    user = app.services.users.by_key(buyer.user_key)
    assert user is not None
    app.services.delete_user(user)
    kept = app.services.orders.get(order.id)
    assert kept is not None and kept.status == CONFIRMED and kept.total == 450_000
    assert (kept.buyer_id, kept.buyer_name, kept.phone, kept.address) == (0, "", "", "")
    await farmer.tap(f"ord:v:{order.id}")
    assert "Trần Đăng Ninh" not in farmer.text() and "0987" not in farmer.text()
