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
