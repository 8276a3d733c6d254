"""The local web chat: talk to the bot in a browser, with no credentials at all.

Each browser gets a session cookie the server signed; its user key is "web:<session>". Replies
come back as JSON; notifications for a web user wait in the store until the page's long poll
collects them, whichever bot process holds it (bot/web/chat_pending.py). Messages are
rate-limited per session, and those of visitors not yet registered per client address and in
total; upload bytes per session and address. Photos are taken only when the question asks for
one, decoded and re-encoded before they are kept.

A flood is mostly refusals, so a refusal is cheap: a request with no session cookie of ours
from an address over its cap is turned away before anything else is parsed, with an answer
built once, and a refused upload's connection is closed instead of its body being read.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import math
import re
import secrets
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from string import Template
from typing import Any

from aiohttp import hdrs, web

from bot.address import Address, address_of
from bot.channels.plain import incoming_text
from bot.core.engine import Engine
from bot.core.media import UPLOAD_PREFIX, owned_name
from bot.core.types import Incoming, Reply
from bot.i18n import _, use_locale
from bot.private_files import write_private
from bot.services.container import Services
from bot.services.users import User
from bot.web.chat_pending import Pending, personal_values
from bot.web.chat_session import SessionIds, SharedKey, load_secret
from bot.web.limits import Buckets, client_address, networks, spend_all
from bot.web.photos import reencode

CHANNEL = "web"
COOKIE = "nds_chat"
MEDIA_CACHE = "public, max-age=60"
STATIC = Path(__file__).parent / "static"
TEXT_MAX = 5000
SEND_MAX_BYTES = 64 * 1024  # a message's JSON: TEXT_MAX characters of any script fit easily
PHOTO_MAX_BYTES = 5 * 1024 * 1024
MULTIPART_SLACK = 1024  # bytes of an upload's request that are not the photo (headers, boundary)
POLL_SECONDS = 20.0
DECODERS = 1  # photos decoded at once: a flood of uploads must not starve the replies
NEWCOMERS = 1  # messages of people not registered handled at once (the rest wait their turn)
ICON_SIZES = (192, 512)
VOICE_MAX_BYTES = 5 * 1024 * 1024  # about 10 minutes of speech as browsers record it
# The page names each message (a random id) and sends it again until it gets an answer: a
# message that reached us but whose answer was lost on a weak line is answered from here.
ANSWERS_KEPT = 2000
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,40}")


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
        "audio": reply.audio_link,  # played by the page (/audio/<token>)
    }
    if reply.document is not None:
        name, content = reply.document
        data["document"] = {"name": name, "base64": base64.b64encode(content).decode()}
    return data


def replies_body(drawn: list[dict[str, Any]]) -> bytes:
    """What the API answers: replies as the page draws them (`reply_json`), as JSON."""
    return json.dumps({"replies": drawn}).encode()


def _api_response(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


Sender = tuple[str, str, User | None]  # session id, cookie to set ("" if none), user if any


class WebChat:
    """HTTP handlers of the web chat."""

    def __init__(self, engine: Engine[Services], media_dir: Path) -> None:
        self.engine = engine
        self.media_dir = media_dir
        services = engine.services
        settings = services.settings
        self.secure = settings.base_url.startswith("https://")
        self._key = SharedKey(services.store, settings.data_dir) if services.store.shared else None
        local = load_secret(settings.data_dir) if self._key is None else b""
        self.sessions = SessionIds(
            self._key or (lambda: local), lambda k: services.users.by_key(k) is not None
        )
        self.trusted = networks(settings.trusted_proxies)

        def now() -> float:
            return services.clock.now().timestamp()

        self.session_sends = Buckets(settings.webchat_session_messages_per_minute, 60, now)
        self.address_sends = Buckets(settings.webchat_address_messages_per_minute, 60, now)
        self.anonymous_sends = Buckets(settings.webchat_anonymous_messages_per_minute, 60, now)
        self.session_bytes = Buckets(settings.webchat_session_upload_bytes_per_hour, 3600, now)
        self.address_bytes = Buckets(settings.webchat_address_upload_bytes_per_hour, 3600, now)
        self._decoding = asyncio.Semaphore(DECODERS)
        self._newcomers = asyncio.Semaphore(NEWCOMERS)
        self.pending = Pending(services.store, services.clock)
        services.jobs.append(self.pending.sweeper())
        # First of the hooks: the order hook blanks the addresses to look for.
        services.deletion_hooks.insert(0, self._forget)
        # Answers by the page's message id, for a message sent again after its answer was lost
        # on the line. Per process: a resend reaching another process is not handled twice (the
        # engine knows the id) but gets no answer; a load balancer keeping a browser on one
        # process (sticky by the cookie) avoids that.
        self._answers: OrderedDict[str, list[Reply]] = OrderedDict()
        engine.services.notifier.register(CHANNEL, self.push)

    def add_routes(self, app: web.Application) -> None:
        """Mount the chat page and its API."""
        if self._key is not None:
            app.on_startup.append(self._store_key)
        app.router.add_get("/", self.page)
        app.router.add_get("/chat", self.page)
        app.router.add_static("/static/", STATIC)
        app.router.add_post("/chat/api/send", self.send)
        app.router.add_post("/chat/api/photo", self.photo)
        app.router.add_post("/chat/api/voice", self.voice)
        app.router.add_get("/chat/api/poll", self.poll)
        app.router.add_get("/media/{name}", self.media)
        app.router.add_get("/manifest.webmanifest", self.manifest)

    async def _store_key(self, _app: web.Application) -> None:
        assert self._key is not None
        await self._key.ensure()

    def _forget(self, user: User) -> None:
        """A person deleted their data: what waits for their pages, or tells of them, goes."""
        sessions = [k.partition(":")[2] for k in user.ident if k.startswith(f"{CHANNEL}:")]
        self.pending.forget(sessions, personal_values(user, self.engine.services.orders))

    async def push(self, session: str, replies: list[Reply]) -> None:
        """Keep a notification for a browser session until its page collects it."""
        await self.pending.put(session, [reply_json(r) for r in replies])

    def _session(self, request: web.Request) -> tuple[str, str]:
        """The browser's session id, and a cookie to set when it had none of ours."""
        session = self._known_session(request)
        if session is not None:
            return session, ""
        return self.sessions.issue()

    def _known_session(self, request: web.Request) -> str | None:
        """The session id of the request's cookie, if this server issued it (or a user owns it)."""
        raw = request.headers.get(hdrs.COOKIE, "")
        if COOKIE not in raw:  # most of a flood: no cookie to parse at all
            return None
        return self.sessions.check(_cookie(raw, COOKIE))

    def _sender(self, request: web.Request) -> Sender | web.Response:
        """Who sends this, if they may send now; else the "please wait" refusal.

        A request without a session of ours (a newcomer, or a script) from an address over its
        cap, or while all newcomers together are, is refused first thing: nothing parsed, no
        session made for it, an answer built once.
        """
        address = client_address(request, self.trusted)
        session = self._known_session(request)
        cookie = ""
        if session is None:
            wait = max(self.address_sends.wait(address), self.anonymous_sends.wait(""))
            if wait:
                return self._too_fast(wait, "", None)
            session, cookie = self.sessions.issue()
        user = self.engine.services.users.by_key(f"{CHANNEL}:{session}")
        wait = spend_all(self._send_limits(address, session, user))
        if wait:
            return self._too_fast(wait, cookie, user)
        return session, cookie, user

    def _send_limits(
        self, address: str, session: str, user: User | None
    ) -> list[tuple[Buckets, str]]:
        """The message allowances a request spends from (address and total: anonymous only)."""
        limits = [(self.session_sends, session)]
        if user is None or not user.registered:  # a commune's farmers may share one address
            limits.append((self.address_sends, address))
            limits.append((self.anonymous_sends, ""))  # a flood must not slow registered users
        return limits

    def _byte_limits(self, request: web.Request, session: str) -> list[tuple[Buckets, str]]:
        """The upload allowances a request spends from: its session's and its address's."""
        # Registered users too: accounts are cheap to make, disk is not.
        return [
            (self.session_bytes, session),
            (self.address_bytes, client_address(request, self.trusted)),
        ]

    def _too_fast(self, wait: float, cookie: str, user: User | None) -> web.Response:
        """The "please wait" answer: a reply the chat shows, HTTP 429 for the API."""
        seconds = max(1, math.ceil(wait))
        response = _api_response(_please_wait(seconds, *_audience(user)), 429)
        response.headers["Retry-After"] = str(seconds)
        if cookie:
            self._set_cookie(response, cookie)
        return response

    async def page(self, request: web.Request) -> web.Response:
        """The chat page."""
        _session, cookie = self._session(request)
        lang = "en" if request.query.get("lang") == "en" else "vi"
        with use_locale(lang):
            html = Template((STATIC / "chat.html").read_text(encoding="utf-8")).substitute(
                lang=lang,
                title=_("Nông Dân Số"),
                subtitle=_("Digital assistant for Lạng Sơn farmers — web chat"),
                placeholder=_("Type a message…"),
                send=_("Send"),
                photo=_("Send a photo"),
                photo_short=_("Photo"),
                voice=_("Record a voice message for the team"),
                voice_short=_("Voice"),
                sending=_("sending…"),
                failed=_("not sent yet — it will go when the connection is back"),
            )
        response = web.Response(text=html, content_type="text/html")
        if cookie:
            self._set_cookie(response, cookie)
        return response

    async def send(self, request: web.Request) -> web.Response:
        """Handle typed text or a button press from the page."""
        sender = self._sender(request)
        if isinstance(sender, web.Response):  # refused before the body is even parsed
            return sender
        key = f"{CHANNEL}:{sender[0]}"
        if (request.content_length or 0) > SEND_MAX_BYTES:
            raise web.HTTPRequestEntityTooLarge(SEND_MAX_BYTES, request.content_length or 0)
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="expected JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        text = body.get("text")
        payload = body.get("payload")
        name = str(body.get("name") or "")[:64]
        msg: Incoming
        if isinstance(payload, str) and payload:
            msg = Incoming(CHANNEL, key, "button", payload=payload[:64], display_name=name)
        elif isinstance(text, str) and text.strip():
            msg = incoming_text(CHANNEL, key, text[:TEXT_MAX], display_name=name)
        else:
            raise web.HTTPBadRequest(text="expected text or payload")
        return await self._answer(sender, msg, str(body.get("id") or ""))

    async def _answer(self, sender: Sender, msg: Incoming, client_id: str = "") -> web.Response:
        session, cookie, user = sender
        sent_id = f"{session}:{client_id}" if _CLIENT_ID.fullmatch(client_id) else ""
        if sent_id in self._answers:  # sent again after its answer was lost: the same answer
            return self._respond(self._answers[sent_id], cookie)
        if sent_id:
            msg = replace(msg, event_id=sent_id)  # the engine handles it once, restarts too
        # Newcomers' messages (all a flood gets through) are worked on one at a time, so a
        # registered user's never queues behind a pile of them on the event loop.
        gate = None if user is not None and user.registered else self._newcomers
        replies = await self.engine.handle(msg, gate)
        if sent_id:
            self._answers[sent_id] = replies
            while len(self._answers) > ANSWERS_KEPT:
                self._answers.popitem(last=False)
        return self._respond(replies, cookie, waiting=await self.pending.take(session))

    async def photo(self, request: web.Request) -> web.Response:
        """Take a photo the current question asks for: capped, decoded, re-encoded, kept."""
        sender = self._sender(request)
        if isinstance(sender, web.Response):
            return await _unread(request, sender)
        session, cookie, user = sender
        key = f"{CHANNEL}:{session}"
        refusal = self._refuse_photo(request, session, cookie, user)
        if refusal is not None:
            # Let the upload drain, so the browser surely gets to show why (the page then waits
            # as long as it is told; a script that does not is soon over the send cap: closed).
            return refusal
        assert user is not None
        budget = self._byte_limits(request, session)
        data = await _read_photo(request)
        if data is None:
            with _speaking_to(user):
                said = _("That photo is too large. Please send one under {mb} MB.").format(
                    mb=PHOTO_MAX_BYTES // (1024 * 1024)
                )
            return await _unread(request, self._respond([Reply(said)], cookie, status=413))
        wait = spend_all(budget, len(data))
        if wait:
            return self._too_fast(wait, cookie, user)
        async with self._decoding:  # one at a time, off the event loop
            clean = await asyncio.to_thread(reencode, data)
        if clean is None:
            with _speaking_to(user):
                said = _(
                    "That file is not a photo I can open. Please send a photo (JPEG, PNG or WebP)."
                )
            again = await self.engine.handle(Incoming(CHANNEL, key, "button", payload="sys:retry"))
            return self._respond([Reply(said), *again], cookie)
        client_id = request.query.get("id", "")  # the page's message id (outbox.js)
        if f"{session}:{client_id}" in self._answers:
            return await self._answer(sender, Incoming(CHANNEL, key, "other"), client_id)
        name = await asyncio.to_thread(self._keep, key, clean)
        photo = Incoming(CHANNEL, key, "photo", photo=f"media:{name}")
        return await self._answer(sender, photo, client_id)

    def _refuse_photo(
        self, request: web.Request, session: str, cookie: str, user: User | None
    ) -> web.Response | None:
        """Why an upload is turned away before it is read: unasked, or over its bytes."""
        if user is None or not self.engine.expects_photo(f"{CHANNEL}:{session}"):
            with _speaking_to(user):
                said = _("I was not asking for a photo just now, so I did not keep this one.")
            return self._respond([Reply(said)], cookie)
        budget = self._byte_limits(request, session)
        # Read nothing doomed: the declared size, less room for the multipart envelope.
        declared = min(max(1, (request.content_length or 0) - MULTIPART_SLACK), PHOTO_MAX_BYTES)
        wait = max(b.wait(k, declared) for b, k in budget)
        return self._too_fast(wait, cookie, user) if wait else None

    async def voice(self, request: web.Request) -> web.Response:
        """Take a recorded voice note (for the team: the bot cannot listen): capped, checked."""
        sender = self._sender(request)
        if isinstance(sender, web.Response):
            return await _unread(request, sender)  # a flood of recordings is not read
        session, cookie, user = sender
        key = f"{CHANNEL}:{session}"
        client_id = request.query.get("id", "")  # the page's message id (outbox.js)
        if user is None:  # no record yet (the welcome's question is open): nothing is kept
            return await self._answer(sender, Incoming(CHANNEL, key, "other"), client_id)
        budget = self._byte_limits(request, session)
        data = await _read_file(request, "voice", VOICE_MAX_BYTES)
        if data is None:
            raise web.HTTPRequestEntityTooLarge(VOICE_MAX_BYTES, request.content_length or 0)
        wait = spend_all(budget, len(data))
        if wait:
            return self._too_fast(wait, cookie, user)
        ext = audio_kind(data[:16])
        if ext is None or f"{session}:{client_id}" in self._answers:
            return await self._answer(sender, Incoming(CHANNEL, key, "other"), client_id)
        # Named after its sender, so deleting their data finds it even out of any record.
        name = owned_name(UPLOAD_PREFIX, key, f"voice-{secrets.token_hex(12)}.{ext}")
        await asyncio.to_thread(write_private, self.media_dir / name, data)
        voice = Incoming(CHANNEL, key, "voice", photo=f"media:{name}")
        return await self._answer(sender, voice, client_id)

    def _keep(self, key: str, data: bytes) -> str:
        """Write a cleaned photo under a fresh name (never half-written, owner-only)."""
        # Named after its sender, so deleting their data finds it even out of any record.
        name = owned_name(UPLOAD_PREFIX, key, f"{secrets.token_hex(12)}.jpg")
        write_private(self.media_dir / name, data)
        return name

    async def poll(self, request: web.Request) -> web.Response:
        """Wait a while for notifications to this browser."""
        session, cookie = self._session(request)
        await self.pending.wait(session, POLL_SECONDS)
        return self._respond([], cookie, waiting=await self.pending.take(session))

    async def manifest(self, request: web.Request) -> web.Response:
        """The web app manifest: the chat can be installed on a phone's home screen."""
        lang = "en" if request.query.get("lang") == "en" else "vi"
        with use_locale(lang):
            data = {
                "name": _("Nông Dân Số"),
                "short_name": _("Nông Dân Số"),
                "description": _("Digital assistant for Lạng Sơn farmers — web chat"),
                "lang": lang,
                "start_url": "/",
                "scope": "/",
                "display": "standalone",
                "background_color": "#eef3ea",
                "theme_color": "#2f6b2f",
                "icons": [
                    {"src": f"/static/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
                    for n in ICON_SIZES
                ],
            }
        return web.json_response(data, content_type="application/manifest+json")

    async def media(self, request: web.Request) -> web.StreamResponse:
        """An uploaded photo."""
        name = request.match_info["name"]
        if "/" in name or name.startswith(".") or not (self.media_dir / name).is_file():
            raise web.HTTPNotFound()
        # Cached a minute at most: a photo its owner deleted must not outlive them in caches.
        return web.FileResponse(self.media_dir / name, headers={"Cache-Control": MEDIA_CACHE})

    def _respond(
        self,
        replies: list[Reply],
        cookie: str,
        status: int = 200,
        *,
        waiting: list[dict[str, Any]] | None = None,
    ) -> web.Response:
        """Notices that waited, then replies, as JSON; the session cookie when just issued."""
        drawn = [*(waiting or []), *(reply_json(r) for r in replies)]
        response = _api_response(replies_body(drawn), status)
        if cookie:
            self._set_cookie(response, cookie)
        return response

    def _set_cookie(self, response: web.StreamResponse, cookie: str) -> None:
        response.set_cookie(
            COOKIE,
            cookie,
            httponly=True,
            samesite="Lax",
            secure=self.secure,
            max_age=365 * 86400,
            path="/",
        )


def _audience(user: User | None) -> tuple[str, Address | None]:
    """Whom we speak to: the user's language and address (a visitor with no record:
    Vietnamese, to nobody in particular)."""
    return (user.lang, address_of(user)) if user else ("vi", None)


def _speaking_to(user: User | None) -> contextlib.AbstractContextManager[None]:
    """Speak to this user."""
    return use_locale(*_audience(user))


@functools.lru_cache(maxsize=1024)
def _please_wait(seconds: int, lang: str, to: Address | None) -> bytes:
    """The "please wait" reply as the API answers it: a flood gets the same few, built once."""
    with use_locale(lang, to):
        if seconds < 90:
            text = _(
                "You are sending too fast. Please wait about {seconds} seconds, then send again."
            ).format(seconds=seconds)
        else:
            text = _(
                "You have sent a lot in a short time. Please wait about {minutes} minutes, "
                "then send again."
            ).format(minutes=math.ceil(seconds / 60))
    return replies_body([reply_json(Reply(text))])


def _cookie(raw: str, name: str) -> str:
    """The value of cookie `name` in a Cookie header ("" if absent), without a full parse."""
    for pair in raw.split(";"):
        key, _eq, value = pair.strip().partition("=")
        if key == name:
            return value.strip('"')
    return ""


async def _unread(request: web.Request, response: web.Response) -> web.Response:
    """Answer, then close the connection, leaving the rest of an upload unread.

    aiohttp would otherwise read and drop the whole body after the answer (its lingering close):
    a flood of refused uploads would cost their full size each.
    """
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


async def _read_photo(request: web.Request) -> bytes | None:
    """The uploaded file's bytes; None if it is larger than PHOTO_MAX_BYTES."""
    reader = await request.multipart()
    part = await reader.next()
    if part is None or getattr(part, "name", "") != "photo":
        raise web.HTTPBadRequest(text="expected a 'photo' file")
    data = bytearray()
    while chunk := await part.read_chunk():  # type: ignore[union-attr]
        data.extend(chunk)
        if len(data) > PHOTO_MAX_BYTES:
            return None
    return bytes(data)


async def _read_file(request: web.Request, field: str, limit: int) -> bytes | None:
    """The bytes of an upload's one file part; None if it is larger than `limit`."""
    reader = await request.multipart()
    part = await reader.next()
    if part is None or getattr(part, "name", "") != field:
        raise web.HTTPBadRequest(text=f"expected a '{field}' file")
    data = bytearray()
    while chunk := await part.read_chunk():  # type: ignore[union-attr]
        data.extend(chunk)
        if len(data) > limit:
            return None
    return bytes(data)


def audio_kind(head: bytes) -> str | None:
    """The file extension of a recording browsers make (WebM, Ogg, MP4/AAC), from its bytes."""
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "webm"
    if head.startswith(b"OggS"):
        return "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    return None
