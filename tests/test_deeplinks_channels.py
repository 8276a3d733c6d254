"""A shared listing opened by a new buyer on each channel, ending in a placed order."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import BotApp
from bot.server import build_web_app
from bot.services.listings import Listing
from tests.fakes.user_side import TINY_PNG
from tests.helpers.driver import MAIN_MENU, Chat, make_app
from tests.helpers.msgids import pattern, said
from tests.helpers.telegram import TelegramBot, payloads, texts
from tests.orders_helpers import ORDER_PLACED, QUANTITY_QUESTION, add_listing
from tests.zalo_helpers import BotUser, ZaloBot, zalo

__all__ = ["zalo"]

NAME_QUESTION = "What is your name? The seller sees it with your order."
SELLER = 9101
BUYER = 9102


def _order_of(app: BotApp, user_key: str) -> tuple[str, str]:
    """(quantity, buyer name) of the only order a user placed."""
    user = app.services.users.by_key(user_key)
    assert user is not None and user.registered and user.role == "buyer"
    [order] = app.services.orders.of_buyer(user.id)
    return order.quantity, order.buyer_name


async def test_telegram_deep_link_to_an_order(tg: TelegramBot) -> None:
    await tg.onboard(SELLER)
    assert tg.app is not None
    seller = tg.app.services.users.by_key(f"telegram:{SELLER}")
    assert seller is not None
    photo = tg.fake.add_file(TINY_PNG, file_id="NA-SHARED")
    listing = tg.app.services.listings.add(
        Listing(
            farmer_id=seller.id,
            area=seller.area,
            product_id="na-chi-lang",
            product_name="Na Chi Lăng",
            stock="50",
            quantity="50",
            price=45000,
            photos=[f"tg:{photo}"],
        )
    )
    await tg.tap(SELLER, "mylistings")
    await tg.tap(SELLER, f"lst:v:{listing.id}")
    share = await tg.tap(SELLER, f"lst:sh:{listing.id}")
    link = f"https://t.me/nongdanso_test_bot?start=p_{listing.slug}"  # the username from getMe
    assert link in texts(share)
    post = texts(await tg.tap(SELLER, f"lst:po:{listing.id}:zalo"))
    web = post.index(f"/p/{listing.slug}")
    assert web < post.index(link) < post.index(f"MUA {listing.slug}")  # web, Telegram, code

    opened = await tg.text(BUYER, f"/start p_{listing.slug}", first_name="Hoa")
    card = opened[-1]
    assert card.get("photo") and "Na Chi Lăng" in card["caption"]
    assert "45.000\xa0₫/kg" in card["caption"] and "l:order" in payloads([card])
    assert not said(texts(opened), "What is your name?")  # no registration before the card
    assert said(texts(await tg.tap(BUYER, "l:order")), QUANTITY_QUESTION)
    named = await tg.text(BUYER, "4 kg")
    assert "nm:keep" in payloads(named)  # "Use: Hoa", from Telegram's profile
    await tg.tap(BUYER, "nm:keep")
    await tg.contact(BUYER, "+84987654321")
    await tg.text(BUYER, "Số 5 Đông Kinh, Lạng Sơn")
    await tg.tap(BUYER, "nt:skip")
    placed = texts(await tg.tap(BUYER, "cf:yes"))
    assert "/d/" in placed and said(placed, ORDER_PLACED) and said(placed, MAIN_MENU), placed
    assert _order_of(tg.app, f"telegram:{BUYER}") == ("4", "Hoa")
    assert "Hoa" in texts(tg.new_messages(SELLER))  # the seller is told at once


async def test_zalo_bot_code_to_an_order(zalo: ZaloBot) -> None:
    seller = Chat(zalo.app, "web:seller", "Lan")
    await seller.onboard(role="farmer")
    listing = add_listing(zalo.app, seller, photos=["media:na.jpg"])
    buyer = BotUser(zalo, "zbuyer")
    card = await buyer.say(f"mua {listing.slug.lower()}")
    numbered = re.search(r"^1\. " + pattern("🛒 Order this").pattern, card, re.MULTILINE)
    assert "Na Chi Lăng" in card and numbered, card
    sent = [m.get("photo", "") for m in zalo.bot_fake.sent if m["chat_id"] == "zbuyer"]
    assert any(p.endswith("/media/na.jpg") for p in sent), sent
    assert said(await buyer.say("1"), QUANTITY_QUESTION)
    assert said(await buyer.say("3 kg"), NAME_QUESTION)
    await buyer.choose("Dùng")  # "Use: Nguyen Van A", the Zalo display name
    await buyer.say("0987 654 321")
    await buyer.say("Thôn Bản Làn, Chi Lăng, Lạng Sơn")
    await buyer.choose("Bỏ qua")
    placed = await buyer.choose("Đặt hàng")
    assert "/d/" in placed and said(placed, ORDER_PLACED), placed
    assert _order_of(zalo.app, "zalo_bot:zbuyer") == ("3", "Nguyen Van A")


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[BotApp]:
    bot = make_app(tmp_path / "data")  # plain http: the chat cookie is not Secure
    yield bot
    await bot.stop()


async def test_web_chat_link_to_an_order(shop: BotApp) -> None:
    seller = Chat(shop, "web:seller", "Lan")
    await seller.onboard(role="farmer")
    listing = add_listing(shop, seller)
    async with TestClient(TestServer(build_web_app(shop, None))) as web:
        page = await (await web.get(f"/p/{listing.slug}")).text()
        assert f"/?start=p_{listing.slug}" in page
        assert (await web.get(f"/?start=p_{listing.slug}")).status == 200  # the chat page

        async def send(**body: str) -> str:
            resp = await web.post("/chat/api/send", json=body)
            assert resp.status == 200
            return "\n".join(r["html"] for r in (await resp.json())["replies"])

        async def buttons(**body: str) -> list[str]:
            resp = await web.post("/chat/api/send", json=body)
            return [
                b["payload"]
                for r in (await resp.json())["replies"]
                for row in r["buttons"]
                for b in row
            ]

        # What chat.js sends for /?start=p_<slug>.
        assert "l:order" in await buttons(text=f"/start p_{listing.slug}")
        assert said(await send(payload="l:order"), QUANTITY_QUESTION)
        assert said(await send(text="2 kg"), NAME_QUESTION)
        await send(text="Chị Mai")
        await send(text="0912 000 111")
        await send(text="Phường Đông Kinh, Lạng Sơn")
        await send(payload="nt:skip")
        placed = await send(payload="cf:yes")
        assert "/d/" in placed and said(placed, ORDER_PLACED), placed
    [buyer] = [u for u in shop.services.users.all() if u.role == "buyer"]
    assert buyer.name == "Chị Mai" and buyer.registered and buyer.ident[0].startswith("web:")
