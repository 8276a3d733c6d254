"""The web chat in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.server import start
from tests.helpers.driver import settings_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
async def server_url(tmp_path: Path, clock: FakeClock) -> AsyncIterator[str]:
    app, runner = await start(settings_for(tmp_path / "web"), clock)
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await app.stop()


async def test_onboarding_by_clicking_on_a_phone_sized_screen(
    server_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(server_url + "/")
            await page.wait_for_selector("text=Anh/chị tên là gì")
            await page.fill("#text", "Hoàng Thị Lan")
            await page.click("#send")
            await page.click("button:has-text('Chị Lan')")
            await page.wait_for_selector("text=Số điện thoại của chị")
            await page.fill("#text", "0912 345 678")
            await page.press("#text", "Enter")
            await page.wait_for_selector("text=xã/phường nào")
            await page.fill("#text", "chi lang")
            await page.click("#send")
            await page.click("button:has-text('Tôi trồng')")
            await page.click("button:has-text('Na Chi Lăng')")
            await page.wait_for_selector("button:has-text('✅ Na Chi Lăng')")
            await page.click("button:has-text('Xong') >> nth=-1")
            await page.click("button:has-text('Có, gửi cho tôi')")
            await page.wait_for_selector("text=em cảm ơn chị Lan")
            menu = page.locator(".msg.bot").last
            assert "Menu chính" in await menu.inner_text()
            # user text is shown as text, never as markup
            await page.fill("#text", "<img src=x onerror=alert(1)>")
            await page.click("#send")
            await page.wait_for_timeout(500)
            assert await page.locator("img[src=x]").count() == 0
            # the page fits the phone screen: no horizontal scrolling
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390
            await page.screenshot(path=str(tmp_path / "webchat.png"))
        finally:
            await browser.close()


HOSTILE = (
    "<b>Đậm</b> <i>nghiêng</i>\n<img src=x onerror=\"window.pwned='img'\">"
    "<script>window.pwned='script'</script>"
    "<a href=\"javascript:window.pwned='link'\">xấu</a> "
    '<a href="https://nongdanso.example.vn/p/1" onclick="window.pwned=\'click\'">tốt</a>'
    '<iframe src="/"></iframe><svg onload="window.pwned=\'svg\'"></svg>'
)


async def test_bot_text_is_built_as_nodes_never_as_raw_markup(server_url: str) -> None:
    from playwright.async_api import Route, async_playwright

    async def hostile(route: Route) -> None:
        reply = {"html": HOSTILE, "buttons": [], "request_contact": "", "photos": []}
        await route.fulfill(json={"replies": [reply]})

    async def too_fast(route: Route) -> None:
        reply = {"html": "Bà con vui lòng chờ", "buttons": [], "photos": []}
        await route.fulfill(status=429, json={"replies": [reply]}, headers={"Retry-After": "5"})

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.route("**/chat/api/send", hostile)
            await page.goto(server_url + "/")
            bubble = page.locator(".msg.bot").last
            await bubble.locator("b", has_text="Đậm").wait_for()
            assert await bubble.locator("i").inner_text() == "nghiêng"
            assert await page.locator(".msg.bot img, .msg.bot iframe, .msg.bot svg").count() == 0
            assert await bubble.locator("a").count() == 1
            good = bubble.locator("a")
            assert await good.get_attribute("href") == "https://nongdanso.example.vn/p/1"
            assert await good.get_attribute("onclick") is None
            assert "xấu" in await bubble.inner_text()  # the bad link keeps its words only
            assert await page.evaluate("window.pwned") is None
            await page.unroute("**/chat/api/send")
            await page.route("**/chat/api/send", too_fast)
            await page.fill("#text", "alo")
            await page.click("#send")
            await page.wait_for_selector("text=Bà con vui lòng chờ")  # a refusal is shown too
        finally:
            await browser.close()
