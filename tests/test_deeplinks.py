"""Shared listings: slugs, links and typed codes open a listing for anyone, ending in an order."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import BotApp
from bot.server import build_web_app
from bot.services.listings import PAUSED, Listing
from bot.slugs import ALPHABET, LENGTH, from_start, from_typed, is_slug, new_slug
from bot.storage.db import Store
from tests.helpers.driver import MAIN_MENU, Chat, make_app
from tests.helpers.msgids import said
from tests.orders_helpers import (
    CODE_GONE,
    ORDER_PLACED,
    QUANTITY_QUESTION,
    WHAT_TO_BUY,
    Inbox,
    add_listing,
    well_formed,
)

BASE = "https://nongdanso.example.vn"


def test_slugs_are_short_unambiguous_and_never_plain_words() -> None:
    seen = {new_slug(lambda s: False) for _ in range(300)}
    assert all(len(s) == LENGTH and set(s) <= set(ALPHABET) and is_slug(s) for s in seen)
    assert not set("01ILOU") & set(ALPHABET)
    assert len(seen) > 290  # random, not a counter
    taken = {"7K3QX"}
    assert new_slug(lambda s: s in taken) != "7K3QX"
    assert (
        from_start("p_7k3qx") == "7K3QX" and from_start("p_THACH") == "" and from_start("x") == ""
    )
    assert from_typed("mua 7k3qx") == "7K3QX" and from_typed("mua: #7k3qx") == "7K3QX"
    assert from_typed("mua7k3qx") == "7K3QX"
    for words in ("mua thach", "mua 25kgs", "mua 100kg", "mua 7k3qx nhe", "7k3qx", ""):
        assert from_typed(words) == "", words


async def test_new_buyer_opens_a_code_and_orders_registering_inside_the_form(app: BotApp) -> None:
    inbox = Inbox(app)
    seller = Chat(app, "web:seller", "Lan")
    await seller.onboard(role="farmer")
    listing = add_listing(app, seller, photos=["media:na.jpg"])
    assert is_slug(listing.slug)
    buyer = Chat(app, "zalo_bot:newbuyer", "Khách Zalo")
    card = await buyer.say(f"Mua {listing.slug.lower()}")
    text = buyer.text()
    assert "Na Chi Lăng" in text and "45.000\xa0₫/kg" in text and "Chi Lăng" in text, text
    assert "OCOP 4★" in text and "VietGAP" in text, text
    assert card[-1].photos == ["media:na.jpg"]
    assert not buyer.said("What is your name?")  # no registration before the card
    await buyer.tap("l:order")
    assert buyer.said(QUANTITY_QUESTION, product=listing.product_name), buyer.text()
    await buyer.say("5 kg")
    assert buyer.said("What is your name? The seller sees it with your order."), buyer.text()
    await buyer.say('Chị Hoa <b>&"')
    await buyer.say("0987 654 321")
    await buyer.say("12 Trần Đăng Ninh, Lạng Sơn")
    await buyer.tap("nt:skip")
    assert all(well_formed(r.text) for r in buyer.last)
    await buyer.tap("cf:yes")
    user = app.services.users.by_key("zalo_bot:newbuyer")
    assert user is not None and user.registered and user.role == "buyer"
    assert user.name == 'Chị Hoa <b>&"' and user.phone == "+84987654321"
    [order] = app.services.orders.of_buyer(user.id)
    assert order.quantity == "5" and len(order.token) >= 20
    assert buyer.said(ORDER_PLACED, code=order.code), buyer.text()
    assert f"/d/{order.token}" in buyer.text()
    assert buyer.said(MAIN_MENU), buyer.text()
    assert "Chị Hoa" in inbox.take(seller.user_key)  # the seller was told at once


async def test_start_payload_opens_the_listing_for_a_registered_buyer(app: BotApp) -> None:
    seller = Chat(app, "web:seller", "Lan")
    await seller.onboard(role="farmer")
    listing = add_listing(app, seller)
    buyer = Chat(app, "web:buyer", "Minh")
    await buyer.onboard(role="buyer", phone="0987654321")
    await buyer.say(f"/start p_{listing.slug}")
    assert "Na Chi Lăng" in buyer.text() and "l:order" in [p for _l, p in buyer.buttons()]
    await buyer.say("1")  # the order button, by its number
    await buyer.say("3 kg")
    assert "nm:keep" in [p for _l, p in buyer.buttons()], buyer.text()  # registered: receiver


async def test_removed_or_paused_listing_says_so_and_offers_similar(app: BotApp) -> None:
    seller = Chat(app, "web:seller", "Lan")
    await seller.onboard(role="farmer")
    paused = add_listing(app, seller, status=PAUSED)
    other = add_listing(app, seller, price=50000)
    gone = add_listing(app, seller)
    app.services.listings.delete(gone.id)
    buyer = Chat(app, "telegram:777", "Khách")
    await buyer.say(f"/start p_{paused.slug}")
    assert buyer.said(CODE_GONE, code=paused.slug), buyer.text()
    assert f"o:{other.id}" in [p for _l, p in buyer.buttons()]  # the same product, on sale
    await buyer.tap(f"o:{other.id}")
    # A guest may order a similar one too.
    assert buyer.said(QUANTITY_QUESTION, product=other.product_name), buyer.text()
    await buyer.say(f"MUA {gone.slug}")
    assert buyer.said(CODE_GONE, code=gone.slug) and buyer.said(WHAT_TO_BUY), buyer.text()
    await buyer.say("MUA 7K3QX")  # never existed
    assert buyer.said(CODE_GONE, code="7K3QX"), buyer.text()


async def test_own_listing_by_code_cannot_be_ordered(app: BotApp) -> None:
    seller = Chat(app, "web:seller", "Lan")
    await seller.onboard(role="farmer")
    listing = add_listing(app, seller)
    await seller.say(f"mua {listing.slug}")
    await seller.tap("l:order")
    assert seller.said("This is your own product — you cannot order it."), seller.text()


async def test_guest_who_leaves_the_listing_is_asked_to_register(app: BotApp) -> None:
    seller = Chat(app, "web:seller", "Lan")
    await seller.onboard(role="farmer")
    listing = add_listing(app, seller)
    guest = Chat(app, "web:guest", "Khách")
    await guest.say(f"/start p_{listing.slug}")
    await guest.say("/huy")
    assert guest.said("What is your name?"), guest.text()
    await guest.say(f"mua {listing.slug}")
    await guest.tap("l:menu")  # the menu needs a profile: registering starts
    assert guest.said("What is your name?"), guest.text()


async def test_old_listings_get_slugs_and_printed_numeric_links_redirect(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data, migrations=()) as old:  # a store from before slugs
        table = old.table("listings")
        for n in range(3):
            table.insert(
                {
                    "farmer_id": 1,
                    "product_id": "na-chi-lang",
                    "product_name": f"Na {n}",
                    "status": "active",
                    "stock": "10",
                    "quantity": "10",
                    "price": 45000,
                }
            )
    app = make_app(data, public_base_url=BASE)
    try:
        olds = app.services.listings.all()
        slugs = [x.slug for x in olds]
        assert all(is_slug(s) for s in slugs) and len(set(slugs)) == 3
        assert all(x.legacy_id for x in olds)
        new = app.services.listings.add(Listing(farmer_id=1, product_name="Na mới", stock="5"))
        assert is_slug(new.slug) and new.slug not in slugs and not new.legacy_id
        async with TestClient(TestServer(build_web_app(app, None))) as web:
            first = olds[0]
            resp = await web.get(f"/p/{first.id}?lang=en", allow_redirects=False)
            assert resp.status == 301 and resp.headers["Location"] == f"/p/{first.slug}?lang=en"
            resp = await web.get(f"/p/{first.id}/qr.png", allow_redirects=False)
            assert resp.status == 301 and resp.headers["Location"] == f"/p/{first.slug}/qr.png"
            assert (await web.get(f"/p/{first.id}")).status == 200  # followed to the page
            assert (await web.get(f"/p/{first.slug.lower()}")).status == 200
            assert (await web.get(f"/p/{new.id}")).status == 404  # new ones: no walking by id
            assert (await web.get(f"/p/{new.slug}")).status == 200
    finally:
        await app.stop()
    with Store(data) as again:  # the migration is recorded: slugs stay as they were
        assert [d["slug"] for d in again.table("listings").all()][:3] == slugs


async def test_order_status_link_works_without_an_account(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data", public_base_url=BASE)
    try:
        seller = Chat(app, "web:seller", "Lan")
        await seller.onboard(role="farmer")
        listing = add_listing(app, seller)
        buyer = Chat(app, "web:buyer", "Minh")
        await buyer.say(f"/start p_{listing.slug}")
        await buyer.tap("l:order")
        for step in ("2 kg", "Minh <i>", "0987654321", "Số 5, Đông Kinh, Lạng Sơn"):
            await buyer.say(step)
        await buyer.tap("nt:skip")
        await buyer.tap("cf:yes")
        user = app.services.users.by_key("web:buyer")
        assert user is not None
        [order] = app.services.orders.of_buyer(user.id)
        assert f"{BASE}/d/{order.token}" in buyer.text()
        async with TestClient(TestServer(build_web_app(app, None))) as web:
            resp = await web.get(f"/d/{order.token}")
            page = await resp.text()
            assert resp.status == 200 and order.code in page and "Na Chi Lăng" in page
            assert said(page, "new, waiting for the seller"), page
            assert "90.000" in page and "0987" not in page and "Đông Kinh" not in page
            assert "no-store" in resp.headers["Cache-Control"]
            assert f"/p/{listing.slug}" in page
            for bad in (order.token[:-1] + "x", "short", order.code, str(order.id)):
                assert (await web.get(f"/d/{bad}")).status == 404, bad
    finally:
        await app.stop()
