"""The web chat in Chromium when the server goes away: the message waits, then goes once."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.server import start
from tests.helpers.driver import settings_for
from tests.test_webchat_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_message_typed_while_the_server_is_down_is_delivered_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    from playwright.async_api import async_playwright

    settings = settings_for(tmp_path / "web", web_port=_free_port())
    url = f"http://127.0.0.1:{settings.web_port}/"
    app, _runner = await start(settings, clock)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(url)
            await page.wait_for_selector("text=tên là gì")
            await page.fill("#text", "Hoàng Thị Lan")
            await page.click("#send")
            await page.wait_for_selector("text=gọi Lan là gì")
            await app.stop()  # the server goes away (a weak line looks the same to the page)
            await page.fill("#text", "chi")  # "chị": how she wants to be called
            await page.click("#send")
            mine = page.locator(".msg.me").last
            await page.wait_for_selector(".msg.me[data-state=failed]")
            assert "chưa gửi được" in await mine.inner_text()
            app, _runner = await start(settings, clock)  # back, on the same data
            await page.wait_for_selector("text=Số điện thoại của chị", timeout=30000)
            assert await mine.get_attribute("data-state") is None
            assert "chưa gửi được" not in await mine.inner_text()
            questions = page.locator(".msg.bot", has_text="Số điện thoại của chị")
            assert await questions.count() == 1  # delivered once, answered once
            [user] = app.services.users.all()
            assert (user.name, user.address) == ("Hoàng Thị Lan", "chi")
        finally:
            await browser.close()
            await app.stop()


async def _register(page: Any, base: str, *, to_photos: bool = False) -> None:
    """Register a farmer through the page's own session (its cookie), as taps would."""
    steps: list[dict[str, str]] = [
        {"text": "/start"},
        {"text": "Hoàng Thị Lan"},
        {"payload": "addr:chi"},
        {"text": "0912 345 678"},
        {"text": "chi lang"},
        *({"payload": p} for p in ("farmer", "crop:na-chi-lang", "crop:done", "consent:yes")),
    ]
    if to_photos:  # on to the listing form's photo question
        steps += [{"payload": "listings"}, {"text": "na chi lang"}, {"text": "loại 1"}]
        steps += [{"text": "200"}, {"text": "45k"}, {"payload": "lf:now"}]
    for body in steps:
        resp = await page.request.post(base + "/chat/api/send", data=body)
        assert resp.ok, await resp.text()


async def test_photos_are_shrunk_in_the_browser_before_upload(
    tmp_path: Path, clock: FakeClock
) -> None:
    from PIL import Image
    from playwright.async_api import async_playwright

    big = tmp_path / "vuon-na.png"
    Image.effect_noise((3200, 2400), 60).convert("RGB").save(big)
    settings = settings_for(tmp_path / "web")
    app, runner = await start(settings, clock)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                await page.goto(base + "/")
                await page.wait_for_selector("text=tên là gì")
                await _register(page, base, to_photos=True)
                sent: list[int] = []
                page.on(
                    "request",
                    lambda r: (
                        sent.append(len(r.post_data_buffer or b""))
                        if "/chat/api/photo" in r.url
                        else None
                    ),
                )
                answers = await page.locator(".msg.bot").count()
                await page.set_input_files("#photo", str(big))
                await page.wait_for_selector(".msg.me:has-text('vuon-na.png')")
                # The bot answered the photo: it was uploaded.
                await page.wait_for_selector(f".msg.bot >> nth={answers}", timeout=30000)
            finally:
                await browser.close()
        assert sent and sent[0] < big.stat().st_size / 5  # what went over the line
        listing_photos = [p for p in (settings.data_dir / "media").glob("up-*.jpg")]
        [stored] = listing_photos
        with Image.open(stored) as photo:
            assert photo.format == "JPEG" and max(photo.size) <= 1600
    finally:
        await app.stop()


async def test_a_voice_note_is_recorded_and_uploaded(tmp_path: Path, clock: FakeClock) -> None:
    from playwright.async_api import async_playwright

    settings = settings_for(tmp_path / "web")
    app, runner = await start(settings, clock)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    fake_mic = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *fake_mic]
            )
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                await page.goto(base + "/")
                await page.wait_for_selector("text=tên là gì")
                await _register(page, base)  # at the menu: a voice note goes to the team
                answers = await page.locator(".msg.bot").count()
                assert await page.locator("#voice").inner_text() == "🎤 Ghi âm"
                await page.click("#voice")
                await page.wait_for_selector("#voice:has-text('⏹ 1 s')")  # a second recorded
                await page.click("#voice")
                await page.wait_for_selector(".msg.me:has-text('🎤')")
                # The bot answered the voice note: it arrived.
                await page.wait_for_selector(f".msg.bot >> nth={answers}", timeout=30000)
                assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            finally:
                await browser.close()
        [voice] = list((settings.data_dir / "media").glob("up-*-voice-*.webm"))
        assert voice.read_bytes().startswith(b"\x1aE\xdf\xa3") and voice.stat().st_size > 500
        [handoff] = app.services.handoffs.with_status("open")
        assert handoff.media == f"media:{voice.name}"
    finally:
        await app.stop()
