"""The web chat on a weak line: a message sent again is handled once; the page stays light."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import BotApp
from bot.server import build_web_app
from tests.helpers.driver import make_app
from tests.helpers.msgids import ASK_AREA, ASK_HOW_TO_CALL, ASK_NAME, ASK_PHONE_TYPED, said

STATIC = Path(__file__).resolve().parent.parent / "bot" / "web" / "static"


@pytest.fixture
async def web(app: BotApp) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_web_app(app, None))) as client:
        yield client


async def _say(web: TestClient, **body: str) -> str:
    resp = await web.post("/chat/api/send", json=body)
    assert resp.status == 200
    return "\n".join(r["html"] for r in (await resp.json())["replies"])


async def test_a_message_sent_twice_is_handled_once(app: BotApp, web: TestClient) -> None:
    assert said(await _say(web, text="/start", id="start-0001"), ASK_NAME)
    first = await _say(web, text="Hoàng Lan", id="msg-000000001")
    assert said(first, ASK_HOW_TO_CALL, name="Lan"), first
    again = await _say(web, text="Hoàng Lan", id="msg-000000001")  # its answer was lost
    assert again == first  # the same answer, and the name was not taken twice
    await _say(web, payload="addr:chi", id="msg-000000002")
    phone = await _say(web, text="0912 345 678", id="msg-000000003")
    assert said(phone, ASK_AREA), phone
    [user] = app.services.users.all()
    assert user.name == "Hoàng Lan" and user.phone == "+84912345678"
    for bad in ("x", "../../etc/passwd", "a" * 100, "<b>"):  # not an id: handled as usual
        await _say(web, text="chi lang", id=bad)


async def test_a_repeat_after_a_restart_is_still_dropped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = make_app(data)
    async with TestClient(TestServer(build_web_app(app, None))) as web:
        await _say(web, text="/start", id="start-0001")
        await _say(web, text="Hoàng Lan", id="msg-000000001")
        cookie = web.session.cookie_jar.filter_cookies(web.make_url("/"))["nds_chat"].value
    await app.stop()
    app = make_app(data)  # the server went down after handling it, before the page heard back
    try:
        async with TestClient(TestServer(build_web_app(app, None))) as web:
            web.session.cookie_jar.update_cookies({"nds_chat": cookie})
            assert await _say(web, text="Hoàng Lan", id="msg-000000001") == ""
            asked = await _say(web, payload="addr:chi", id="msg-000000002")
            assert said(asked, ASK_PHONE_TYPED), asked
    finally:
        await app.stop()


async def test_installable_and_light(web: TestClient) -> None:
    page = await (await web.get("/")).text()
    assert 'rel="manifest"' in page and "📷 <span>Ảnh</span>" in page and "🎤 Ghi âm" in page
    assert 'data-failed="chưa gửi được' in page and 'data-sending="đang gửi…"' in page
    manifest = await web.get("/manifest.webmanifest")
    data = await manifest.json(content_type=None)
    assert manifest.content_type == "application/manifest+json"
    assert data["name"] == "Nông Dân Số" and data["display"] == "standalone"
    sizes = set()
    for icon in data["icons"]:
        resp = await web.get(icon["src"])
        assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    total = len(page.encode()) + len(await manifest.read())
    for name in ("chat.css", "chat.js", "outbox.js"):
        total += len(await (await web.get(f"/static/{name}")).read())
    assert total < 30 * 1024, total  # the page before photos, on a 3G line
