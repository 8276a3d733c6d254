"""A browser's side of the web chat over real HTTP: its own cookie jar, optional proxy address."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.core.fmt import to_plain
from bot.server import build_web_app
from tests.helpers.driver import Chat, make_app

COOKIE = "nds_chat"


def jpeg(width: int = 64, height: int = 48, exif: bool = False) -> bytes:
    """A real JPEG, optionally carrying EXIF metadata (a camera's GPS position, say)."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (40, 160, 60))
    out = io.BytesIO()
    if exif:
        info = Image.Exif()
        info[0x010F] = "SecretCam"  # Make
        info[0x9286] = "21.85N 106.76E"  # UserComment
        image.save(out, "JPEG", exif=info.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


class Browser:
    """One browser: its cookie jar, and an X-Forwarded-For it claims (if any)."""

    def __init__(self, base: str, forwarded_for: str = "", cookies: bool = True) -> None:
        self.base = base
        jar: aiohttp.abc.AbstractCookieJar = (
            aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
        )
        self.http = aiohttp.ClientSession(cookie_jar=jar)
        self.headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        self.status = 0
        self.last: list[dict[str, Any]] = []
        self.response_headers: Any = {}

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()

    def cookie(self) -> str:
        """The chat session cookie the server set ("" if none)."""
        for morsel in self.http.cookie_jar:
            if morsel.key == COOKIE:
                return morsel.value
        return ""

    def set_cookie(self, value: str) -> None:
        """Present a cookie of the client's own choosing."""
        self.http.cookie_jar.update_cookies({COOKIE: value}, response_url=URL(self.base))

    async def open(self) -> aiohttp.ClientResponse:
        """Load the chat page."""
        async with self.http.get(self.base + "/", headers=self.headers) as resp:
            await resp.read()
            self.response_headers = resp.headers
            return resp

    async def _post(self, path: str, **kwargs: Any) -> int:
        async with self.http.post(self.base + path, headers=self.headers, **kwargs) as resp:
            self.status = resp.status
            self.response_headers = resp.headers
            try:
                data = await resp.json()
            except (aiohttp.ContentTypeError, ValueError):
                data = {}
            self.last = data.get("replies", []) if isinstance(data, dict) else []
            return resp.status

    async def say(self, text: str) -> int:
        """Type text."""
        return await self._post("/chat/api/send", json={"text": text})

    async def tap(self, payload: str) -> int:
        """Press a button."""
        return await self._post("/chat/api/send", json={"payload": payload})

    async def send_bytes(self, body: bytes) -> int:
        """Post anything at all to the send endpoint (a script, not the page)."""
        return await self._post("/chat/api/send", data=body)

    async def upload(self, data: bytes, name: str = "photo.jpg") -> int:
        """Pick a photo from the phone."""
        form = aiohttp.FormData()
        form.add_field("photo", data, filename=name, content_type="image/jpeg")
        return await self._post("/chat/api/photo", data=form)

    def text(self) -> str:
        """The last replies as plain text."""
        return "\n".join(to_plain(r.get("html", "")) for r in self.last)

    def payloads(self) -> list[str]:
        """Payloads of the buttons in the last replies."""
        return [b["payload"] for r in self.last for row in r["buttons"] for b in row]

    async def to_listing_photos(self) -> None:
        """Fill the listing form up to its photo question."""
        await self.tap("listings")
        await self.say("na chi lang")
        await self.say("loại 1")
        await self.say("200")
        await self.say("45k")
        await self.tap("lf:now")
        assert "lf:skip" in self.payloads(), self.text()


async def registered(app: BotApp, browser: Browser, name: str = "Lan") -> Browser:
    """Make `browser` the chat of a registered farmer (onboarded through the engine)."""
    session = secrets.token_hex(16)
    await Chat(app, f"web:{session}", name).onboard(role="farmer")
    browser.set_cookie(session)
    return browser


@asynccontextmanager
async def web_chat(
    data_dir: Path, clock: FakeClock, **settings: Any
) -> AsyncIterator[tuple[BotApp, Callable[..., Browser]]]:
    """The bot's real web app on a loopback port, and a maker of browsers pointed at it."""
    app = make_app(data_dir, clock, **settings)
    server = TestServer(build_web_app(app, None))
    await server.start_server()
    browsers: list[Browser] = []

    def browser(forwarded_for: str = "", cookies: bool = True) -> Browser:
        made = Browser(str(server.make_url("")).rstrip("/"), forwarded_for, cookies)
        browsers.append(made)
        return made

    try:
        yield app, browser
    finally:
        for made in browsers:
            await made.close()
        await server.close()
        await app.stop()
