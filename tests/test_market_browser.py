"""The market page in a real browser on a phone: search, filter, open a card, order by web chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.server import start
from bot.services.listings import Certs, Listing
from tests.helpers.driver import settings_for
from tests.test_webchat_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
async def shop(tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[BotApp, str]]:
    app, runner = await start(settings_for(tmp_path / "web"), clock)
    try:
        yield app, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await app.stop()


def _seed(app: BotApp) -> Listing:
    """Na Chi Lăng in two communes and persimmons; returns the one in Chi Lăng."""
    farmer = app.services.users.create("web:seller", "Lan", "2026-11-01T08:00:00+07:00")
    farmer.registered, farmer.role, farmer.phone = True, "farmer", "+84912345678"
    app.services.users.save(farmer)
    made = []
    for area, product, name in (
        ("chi-lang", "na-chi-lang", "Na Chi Lăng"),
        ("dong-kinh", "na-chi-lang", "Na Chi Lăng"),
        ("van-lang", "hong-vanh-khuyen-van-lang", "Hồng vành khuyên"),
    ):
        made.append(
            app.services.listings.add(
                Listing(
                    farmer_id=farmer.id,
                    area=area,
                    product_id=product,
                    product_name=name,
                    grade="loại 1",
                    quantity="80",
                    stock="80",
                    price=45000,
                    certs=Certs(ocop=4),
                )
            )
        )
    return made[0]


async def test_find_a_product_on_the_market_and_order_it_in_the_web_chat(
    shop: tuple[BotApp, str], tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    app, url = shop
    wanted = _seed(app)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(url + "/cho")
            assert await page.locator(".card").count() == 3
            await page.fill("input[name=q]", "na chi lang")
            await page.click("form button")
            await page.wait_for_url("**/cho?q=na+chi+lang**")
            assert await page.locator(".card").count() == 2  # the persimmons are gone
            await page.select_option("select[name=xa]", "chi-lang")
            await page.click("form button")
            await page.wait_for_url("**xa=chi-lang**")
            assert await page.locator(".card").count() == 1
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            await page.screenshot(path=str(tmp_path / "market.png"))
            await page.click(".card a.t")
            await page.wait_for_url(f"**/p/{wanted.slug}")
            await page.wait_for_selector(f"text=MUA {wanted.slug}")
            await page.click("a.go >> nth=0")  # the web chat, opened on this listing
            await page.wait_for_selector("button:has-text('Đặt mua')")
            assert "Xã Chi Lăng" in await page.locator(".msg.bot").last.inner_text()
            await page.click("button:has-text('Đặt mua')")
            await page.wait_for_selector("text=bao nhiêu")
            for answer, then in (
                ("3 kg", "tên là gì"),
                ("Chị Mai", "gọi số nào"),
                ("0987 654 321", "Giao hàng đến đâu"),
                ("Số 5 Đông Kinh, Lạng Sơn", "Bỏ qua"),
            ):
                await page.fill("#text", answer)
                await page.click("#send")
                await page.wait_for_selector(f"text={then}")
            await page.click("button:has-text('Bỏ qua') >> nth=-1")
            await page.click("button:has-text('Đặt hàng') >> nth=-1")
            await page.wait_for_selector("text=đã được đặt")
        finally:
            await browser.close()
    [order] = app.services.orders.with_status("new")
    assert (order.listing_id, order.quantity, order.buyer_name) == (wanted.id, "3", "Chị Mai")
