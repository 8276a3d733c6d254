"""The local web chat: talk to the bot in a browser, with no credentials at all.

Each browser gets a random session cookie; its user key is "web:<session>". Replies come back
as JSON; notifications for a web user wait in a queue the page polls.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections import defaultdict
from pathlib import Path
from string import Template
from typing import Any

from aiohttp import web

from bot.channels.plain import incoming_text
from bot.core.engine import Engine
from bot.core.media import UPLOAD_PREFIX, owned_name
from bot.core.types import Incoming, Reply
from bot.i18n import _, use_locale
from bot.private_files import write_private

CHANNEL = "web"
COOKIE = "nds_chat"
MEDIA_CACHE = "public, max-age=60"
STATIC = Path(__file__).parent / "static"
TEXT_MAX = 5000
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}
POLL_SECONDS = 20.0


def photo_url(ref: str) -> str | None:
    """Where the browser can fetch a stored photo (None for another channel's file ids)."""
    if ref.startswith("media:"):
        return "/media/" + ref.removeprefix("media:")
    if ref.startswith(("http://", "https://", "/")):
        return ref
    return None


def reply_json(reply: Reply) -> dict[str, Any]:
    """A reply as the web page draws it."""
    data: dict[str, Any] = {
        "html": reply.text,
        "buttons": [
            [{"label": b.label, "payload": b.payload, "url": b.url} for b in row]
            for row in reply.buttons
        ],
        "request_contact": reply.request_contact,
        "photos": [u for u in (photo_url(p) for p in reply.photos) if u],
    }
    if reply.document is not None:
        name, content = reply.document
        data["document"] = {"name": name, "base64": base64.b64encode(content).decode()}
    return data


def image_kind(head: bytes) -> str | None:
    """The file extension of a JPEG/PNG/WebP image, from its first bytes."""
    for magic, ext in PHOTO_TYPES.items():
        if head.startswith(magic) and (ext != "webp" or head[8:12] == b"WEBP"):
            return ext
    return None


class WebChat:
    """HTTP handlers of the web chat."""

    def __init__(self, engine: Engine, media_dir: Path) -> None:
        self.engine = engine
        self.media_dir = media_dir
        self._pending: defaultdict[str, list[Reply]] = defaultdict(list)
        self._wakeups: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        engine.services.notifier.register(CHANNEL, self.push)

    def add_routes(self, app: web.Application) -> None:
        """Mount the chat page and its API."""
        app.router.add_get("/", self.page)
        app.router.add_get("/chat", self.page)
        app.router.add_static("/static/", STATIC)
        app.router.add_post("/chat/api/send", self.send)
        app.router.add_post("/chat/api/photo", self.photo)
        app.router.add_get("/chat/api/poll", self.poll)
        app.router.add_get("/media/{name}", self.media)

    async def push(self, session: str, replies: list[Reply]) -> None:
        """Queue a notification for a browser session."""
        self._pending[session].extend(replies)
        self._wakeups[session].set()

    async def page(self, request: web.Request) -> web.Response:
        """The chat page."""
        session, new = _session_of(request)
        lang = "en" if request.query.get("lang") == "en" else "vi"
        with use_locale(lang):
            html = Template((STATIC / "chat.html").read_text(encoding="utf-8")).substitute(
                lang=lang,
                title=_("Nông Dân Số"),
                subtitle=_("Digital assistant for Lạng Sơn farmers — web chat"),
                placeholder=_("Type a message…"),
                send=_("Send"),
                photo=_("Send a photo"),
            )
        response = web.Response(text=html, content_type="text/html")
        if new:
            _set_cookie(response, session)
        return response

    async def _answer(self, request: web.Request, build: Any) -> web.Response:
        session, new = _session_of(request)
        msg: Incoming = build(f"{CHANNEL}:{session}")
        replies = await self.engine.handle(msg)
        replies = [*self._pending.pop(session, []), *replies]
        return _replies_response(replies, session if new else "")

    async def send(self, request: web.Request) -> web.Response:
        """Handle typed text or a button press from the page."""
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="expected JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        text = body.get("text")
        payload = body.get("payload")
        name = str(body.get("name") or "")[:64]
        if isinstance(payload, str) and payload:
            return await self._answer(
                request,
                lambda key: Incoming(
                    CHANNEL, key, "button", payload=payload[:64], display_name=name
                ),
            )
        if not isinstance(text, str) or not text.strip():
            raise web.HTTPBadRequest(text="expected text or payload")
        return await self._answer(
            request, lambda key: incoming_text(CHANNEL, key, text[:TEXT_MAX], display_name=name)
        )

    async def photo(self, request: web.Request) -> web.Response:
        """Store an uploaded photo (type and size checked) and hand it to the bot."""
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", "") != "photo":
            raise web.HTTPBadRequest(text="expected a 'photo' file")
        data = bytearray()
        while chunk := await part.read_chunk():  # type: ignore[union-attr]
            data.extend(chunk)
            if len(data) > PHOTO_MAX_BYTES:
                raise web.HTTPRequestEntityTooLarge(
                    max_size=PHOTO_MAX_BYTES, actual_size=len(data)
                )
        ext = image_kind(bytes(data[:16]))
        if ext is None:
            return await self._answer(request, lambda key: Incoming(CHANNEL, key, "other"))

        def upload(key: str) -> Incoming:
            # Named after its sender, so deleting their data finds it even out of any record.
            name = owned_name(UPLOAD_PREFIX, key, f"{secrets.token_hex(12)}.{ext}")
            write_private(self.media_dir / name, bytes(data))
            return Incoming(CHANNEL, key, "photo", photo=f"media:{name}")

        return await self._answer(request, upload)

    async def poll(self, request: web.Request) -> web.Response:
        """Wait a while for notifications to this browser."""
        session, new = _session_of(request)
        if not self._pending.get(session):
            event = self._wakeups[session]
            event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), POLL_SECONDS)
        replies = self._pending.pop(session, [])
        self._wakeups.pop(session, None)
        return _replies_response(replies, session if new else "")

    async def media(self, request: web.Request) -> web.StreamResponse:
        """An uploaded photo."""
        name = request.match_info["name"]
        if "/" in name or name.startswith(".") or not (self.media_dir / name).is_file():
            raise web.HTTPNotFound()
        # Cached a minute at most: a photo its owner deleted must not outlive them in caches.
        return web.FileResponse(self.media_dir / name, headers={"Cache-Control": MEDIA_CACHE})


def _session_of(request: web.Request) -> tuple[str, bool]:
    """The browser's chat session id, and whether it was just made."""
    session = request.cookies.get(COOKIE, "")
    if len(session) == 32 and session.isalnum():
        return session, False
    return secrets.token_hex(16), True


def _set_cookie(response: web.StreamResponse, session: str) -> None:
    response.set_cookie(COOKIE, session, httponly=True, samesite="Lax", max_age=365 * 86400)


def _replies_response(replies: list[Reply], new_session: str) -> web.Response:
    response = web.json_response({"replies": [reply_json(r) for r in replies]})
    if new_session:
        _set_cookie(response, new_session)
    return response
