"""The web console in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.services.orders import CANCELLED, EARNING
from tests.console_helpers import (
    ADMIN_TG,
    Server,
    admin,
    link_token,
    running,
    seed,
    team_member,
)
from tests.helpers.driver import Chat

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
SCREENSHOTS = Path(__file__).resolve().parent.parent / "data" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@asynccontextmanager
async def browser_page(**options: Any) -> AsyncIterator[Any]:
    """A fresh browser page (phone-sized unless told otherwise)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport=options.get("viewport", {"width": 390, "height": 844})
            )
            yield await context.new_page()
        finally:
            await browser.close()


async def open_link(page: Any, server: Server, token: str) -> Any:
    """Open a one-time link and press its Sign in button; return the response."""
    await page.goto(f"{server.base}/console/login/{token}")
    async with page.expect_navigation() as nav:
        await page.click("button:has-text('Đăng nhập')")
    return await nav.value


async def test_sign_in_and_edit_an_faq_answer_the_bot_then_gives(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, browser_page() as page:
        admin(server.app)
        entry = server.app.services.faq.by_question("Mở gian hàng trên Postmart như thế nào?")
        assert entry is not None
        response = await open_link(page, server, link_token(server.app, f"telegram:{ADMIN_TG}"))
        assert response.status == 200 and page.url.endswith("/console/dashboard")
        await page.click("nav a:has-text('Hỏi đáp')")
        await page.fill("input[name=q]", entry.question)
        await page.click("form.bar button")
        await page.click(f"a[href='/console/faq/{entry.id}']")
        new_answer = "Dạ, bà con vào postmart.vn, bấm Đăng ký <người bán> & làm theo 3 bước."
        await page.fill("#answer", new_answer)
        await page.click("button:has-text('Lưu')")
        await page.wait_for_selector("p.notice:has-text('Đã lưu')")
        assert await page.input_value("#answer") == new_answer

        farmer = Chat(server.app, "web:lan", "Lan")
        await farmer.onboard()
        await farmer.say("lam sao mo shop tren posmart")  # typed loosely, as farmers do
        assert new_answer in farmer.text()


async def test_replayed_and_expired_links_are_refused(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server:
        admin(server.app)
        token = link_token(server.app, f"telegram:{ADMIN_TG}")
        async with browser_page() as page:
            assert (await open_link(page, server, token)).status == 200
        async with browser_page() as page:
            replay = await open_link(page, server, token)
            assert replay.status == 403
            assert "đã được dùng hoặc đã hết hạn" in await page.inner_text("main")
            await page.goto(f"{server.base}/console/dashboard")
            assert page.url.endswith("/console")  # still signed out
        late = link_token(server.app, f"telegram:{ADMIN_TG}")
        clock.advance(minutes=11)
        async with browser_page() as page:
            assert (await open_link(page, server, late)).status == 403


async def test_team_member_is_refused_another_areas_data(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, browser_page() as page:
        seed(server)
        team_member(server.app, "chi-lang")
        await open_link(page, server, link_token(server.app, "telegram:222"))
        options = await page.eval_on_selector_all(
            "select[name=area] option", "els => els.map(e => e.value)"
        )
        assert options == ["", "chi-lang"]
        area_cells = await page.eval_on_selector_all(
            "table >> nth=0 >> tbody tr td:first-child", "els => els.map(e => e.textContent)"
        )
        assert "Xã Thất Khê" not in area_cells
        refused = await page.goto(f"{server.base}/console/dashboard?area=that-khe")
        assert refused is not None and refused.status == 403
        assert "Không được phép" in await page.inner_text("h1")
        refused = await page.goto(f"{server.base}/console/faq")
        assert refused is not None and refused.status == 403


async def test_post_without_csrf_token_is_refused_even_with_the_session_cookie(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, browser_page() as page:
        admin(server.app)
        await open_link(page, server, link_token(server.app, f"telegram:{ADMIN_TG}"))
        lessons_before = server.app.services.lessons.lessons
        response = await page.request.post(f"{server.base}/console/lessons/reload", form={})
        assert response.status == 403
        assert server.app.services.lessons.lessons is lessons_before


def store_counts(server: Server) -> dict[str, dict[str, int]]:
    """Figures per area counted straight from the store's tables."""
    store = server.app.store
    users = {d.doc_id: d for d in store.table("users").all()}
    counts: dict[str, dict[str, int]] = {}

    def add(area: str, name: str, amount: int = 1) -> None:
        row = counts.setdefault(
            area, dict.fromkeys(("farmers", "trained", "active", "orders", "revenue"), 0)
        )
        row[name] += amount

    for user in users.values():
        if user.get("registered") and user.get("role") == "farmer":
            add(user["area"], "farmers")
    for doc in store.table("lesson_progress").all():
        user = users.get(doc["user_id"])
        if doc.get("trained") and user and user.get("registered"):
            add(user["area"], "trained")
    listings = {d.doc_id: d for d in store.table("listings").all()}
    for doc in listings.values():
        if doc["status"] == "active":
            add(doc["area"], "active")
    for doc in store.table("orders").all():
        area = listings[doc["listing_id"]]["area"]
        if doc["status"] != CANCELLED:
            add(area, "orders")
        if doc["status"] in EARNING:
            add(area, "revenue", doc["total"])
    return counts


def figure(text: str) -> int:
    """A number as the console shows it (1.234 or 45.000 ₫) back as an int."""
    return int("".join(c for c in text if c.isdigit()) or 0)


async def test_dashboard_figures_equal_the_store_and_render_on_a_phone(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, browser_page() as page:
        seed(server)
        admin(server.app)
        await open_link(page, server, link_token(server.app, f"telegram:{ADMIN_TG}"))
        rows = await page.eval_on_selector_all(
            "table >> nth=0 >> tbody tr",
            "rows => rows.map(r => [...r.cells].map(c => c.textContent))",
        )
        shown = {cells[0]: [figure(c) for c in cells[1:]] for cells in rows}
        expected = store_counts(server)
        assert expected["chi-lang"]["farmers"] == 4 and expected["that-khe"]["orders"] == 2
        areas = server.app.services.areas
        for area, want in expected.items():
            name = areas.name(area) or area
            got = shown[name]
            assert got[0] == want["farmers"], name
            assert got[1] == want["trained"], name
            assert got[2] == want["active"], name
            assert got[4] == want["orders"], name
            assert got[5] == want["revenue"], name
        total = shown["Tổng"]
        assert total[0] == sum(w["farmers"] for w in expected.values())
        assert total[5] == sum(w["revenue"] for w in expected.values())
        months = await page.eval_on_selector_all(
            "table >> nth=1 >> tbody tr td:first-child", "els => els.map(e => e.textContent)"
        )
        assert months == ["2026-11", "2026-12"]
        assert await page.locator("figure.chart svg rect").count() > 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "console-dashboard-390.png"), full_page=True)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing pushes the page sideways on a phone
