"""Security headers on every page the bot serves, and no version in the Server header."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.core.clock import FakeClock
from bot.server import build_web_app
from bot.web.chat import STATIC
from tests.helpers.driver import make_app
from tests.listings_helpers import stored
from tests.webchat_helpers import registered, web_chat


def directives(csp: str) -> dict[str, str]:
    parts = (p.strip().split(" ", 1) for p in csp.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


async def test_every_page_has_the_security_headers(tmp_path: Path, clock: FakeClock) -> None:
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        lan = await registered(app, browser())
        lan_id = app.services.users.all()[0].id
        [listing] = stored(app, lan_id)
        paths = [
            "/",
            "/chat?lang=en",
            "/static/chat.js",
            "/static/chat.css",
            f"/p/{listing.id}",
            f"/p/{listing.id}/qr.png",
            "/p/999999",
            "/media/nothing.jpg",
            "/healthz",
            "/no/such/page",
            "/console",
        ]
        seen = {}
        for path in paths:
            async with lan.http.get(lan.base + path, allow_redirects=False) as resp:
                await resp.read()
                headers = resp.headers
                assert headers.get("X-Frame-Options") == "DENY", path
                assert headers.get("X-Content-Type-Options") == "nosniff", path
                assert headers.get("Referrer-Policy"), path
                csp = directives(headers.get("Content-Security-Policy", ""))
                assert csp.get("frame-ancestors") == "'none'", (path, csp)
                assert "default-src" in csp, path
                server = headers.get("Server", "")
                assert not re.search(r"\d|aiohttp|python", server, re.I), (path, server)
                seen[path] = csp
        status = await lan.say("hello")
        assert status == 200
        assert lan.response_headers.get("X-Content-Type-Options") == "nosniff"
        chat = seen["/"]
        assert chat["script-src"] == "'self'"  # no inline script, no eval
        assert "'self'" in chat["connect-src"]
        page = seen[f"/p/{listing.id}"]
        assert page.get("script-src", "'none'") == "'none'" and page["default-src"] == "'none'"
        assert "https:" in page["img-src"]  # a listing photo may live on Zalo's servers
        console = seen["/console"]
        assert "script-src" not in console  # the console keeps its own, stricter policy


def test_the_chat_script_never_feeds_strings_to_innerhtml() -> None:
    script = (STATIC / "chat.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "outerHTML" not in script
    assert "insertAdjacentHTML" not in script and "document.write" not in script


async def test_even_a_crash_page_names_no_versions(tmp_path: Path, clock: FakeClock) -> None:
    async def boom(_request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = make_app(tmp_path / "d", clock)
    web_app = build_web_app(app, None)
    web_app.router.add_get("/boom", boom)
    try:
        async with TestClient(TestServer(web_app)) as client:
            resp = await client.get("/boom")
            assert resp.status == 500
            assert resp.headers["Server"] == "nongdanso"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        await app.stop()
