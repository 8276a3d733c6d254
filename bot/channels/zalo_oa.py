"""Zalo Official Account: signed webhook events in, the OA message API out.

Events are acknowledged at once and handled in the background. Flow buttons become template
buttons (up to five; numbered lines beyond). The access token is renewed once on an expiry
error and the send retried; the OA may only message a user within 48 hours of their message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from typing import Any

import aiohttp

from bot.channels.plain import incoming_text
from bot.channels.zalo_broadcast import ZaloOADirect
from bot.channels.zalo_common import (
    Progress,
    Sessions,
    ZaloError,
    media_url,
    publish_document,
    set_following,
    without_keyboards,
)
from bot.channels.zalo_oa_state import OAToken, OutsideWindow, TokenFile, WindowBook
from bot.config import Settings
from bot.core.engine import Engine
from bot.core.fmt import to_plain
from bot.core.types import Button, Incoming, Reply
from bot.services.users import User
from bot.text import split_message

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "OutsideWindow", "ZaloOAChannel", "to_incoming"]

CHANNEL = "zalo_oa"
TEXT_LIMIT = 2000
BUTTONS_MAX = 5
TITLE_MAX = 100
WORKERS = 16
# Our payloads come back as the user's text; the mark tells them from anything typed.
BUTTON_MARK = "#nds:"
# Error codes that mean the access token is invalid or expired: renew it and retry once.
TOKEN_ERRORS = frozenset({-216, -201, -124, -14014})
_NUMBERED = re.compile(r"^\d+\.\s")


def signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """The X-ZEvent-Signature of an event: hex sha256 of app id + raw body + timestamp + key."""
    return hashlib.sha256(
        app_id.encode() + body + timestamp.encode() + secret_key.encode()
    ).hexdigest()


def to_incoming(data: dict[str, Any]) -> Incoming | None:
    """The channel-neutral view of a user's OA event (None for anything else)."""
    event = str(data.get("event_name", ""))
    if not event.startswith("user_send_"):
        return None
    sender = data.get("sender") or {}
    user_id = str(sender.get("id") or "")
    if not user_id:
        return None
    message = data.get("message") or {}
    key = f"{CHANNEL}:{user_id}"
    event_id = str(message.get("msg_id") or "") or f"{event}:{user_id}:{data.get('timestamp', '')}"
    base: dict[str, Any] = {"channel": CHANNEL, "user_key": key, "event_id": event_id}
    attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    first = attachments[0] if attachments else {}
    payload = first.get("payload") or {}
    caption = str(message.get("text") or "")
    if event == "user_send_text":
        return incoming_text(CHANNEL, key, caption, event_id=event_id)
    if event in ("user_send_image", "user_send_gif") and payload.get("url"):
        return Incoming(kind="photo", photo=str(payload["url"]), text=caption, **base)
    if event == "user_send_location":
        coords = payload.get("coordinates") or payload
        try:
            lat, lon = float(coords["latitude"]), float(coords["longitude"])
        except (KeyError, TypeError, ValueError):
            return Incoming(kind="other", **base)
        return Incoming(kind="location", latitude=lat, longitude=lon, **base)
    if event == "user_send_sticker":
        return Incoming(kind="sticker", **base)
    if event == "user_send_audio":
        return Incoming(kind="voice", photo=str(payload.get("url") or ""), **base)
    return Incoming(kind="other", text=caption, **base)


def _follower(data: dict[str, Any]) -> str:
    who = data.get("follower") or data.get("sender") or {}
    return str(who.get("id") or "")


class ZaloOAChannel:
    """One Official Account, feeding the engine."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.media_dir = settings.data_dir / "media"
        initial = OAToken(settings.zalo_oa_access_token, settings.zalo_oa_refresh_token)
        self.tokens = TokenFile(settings.data_dir / "zalo_oa_token.json", initial)
        self._token = self.tokens.load()
        self.windows = WindowBook(engine.services.store)
        self._sessions = Sessions()
        self._progress = Progress()
        self._refresh_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        # Few events worked on at once, so the webhook's own answers are never kept waiting.
        self._working = asyncio.Semaphore(WORKERS)
        self._http: aiohttp.ClientSession | None = None
        engine.services.notifier.register(CHANNEL, self.send)
        engine.services.outbox.register(CHANNEL, ZaloOADirect(self))
        engine.services.deletion_hooks.append(self._forget)

    async def start(self) -> None:
        """Open the HTTP session (events arrive on the webhook)."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def stop(self) -> None:
        """Finish events in progress, then close the HTTP session."""
        await self.idle()
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- incoming -------------------------------------------------------------------------

    def verify(self, body: bytes, given: str) -> bool:
        """Whether `given` (X-ZEvent-Signature) signs this raw body with our OA secret key."""
        try:
            data = json.loads(body)
        except ValueError:
            return False
        if not isinstance(data, dict) or not given:
            return False
        s = self.settings
        expected = signature(
            s.zalo_app_id, body, str(data.get("timestamp", "")), s.zalo_oa_secret_key
        )
        given = given.strip().removeprefix("mac=").lower()
        return hmac.compare_digest(given.encode(), expected.encode())

    def accept(self, data: dict[str, Any]) -> None:
        """Handle a verified event in the background (the webhook must answer within 2 s)."""
        task = asyncio.create_task(self._process_logged(data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process_logged(self, data: dict[str, Any]) -> None:
        try:
            async with self._working:  # FIFO: a user's events still start in arrival order
                await self.process(data)
        except Exception:  # a background task: nobody else would ever see the error
            log.exception("error while handling a %s event", CHANNEL)

    async def idle(self) -> None:
        """Wait until every accepted event has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def process(self, data: dict[str, Any]) -> None:
        """Handle one event: follow/unfollow, or a message answered through the engine."""
        event = str(data.get("event_name", ""))
        if event in ("follow", "unfollow"):
            if _follower(data):
                set_following(
                    self.engine.services.users, f"{CHANNEL}:{_follower(data)}", event == "follow"
                )
            return
        msg = to_incoming(data)
        if msg is None:
            return
        services = self.engine.services
        if services.seen.seen(f"{CHANNEL}:{msg.event_id}"):
            log.info("ignoring redelivered OA event %s", msg.event_id)
            return  # and the reply window stays as the first delivery opened it
        user_id = msg.user_key.partition(":")[2]
        self.windows.user_wrote(user_id, services.clock.now())
        msg = self._press(user_id, msg)
        replies = await self.engine.handle(msg)
        try:
            await self.send(user_id, replies, partial=True)
        except (TimeoutError, ZaloError, OutsideWindow, aiohttp.ClientError):
            log.exception("could not answer OA user %s", user_id)

    def _press(self, user_id: str, msg: Incoming) -> Incoming:
        """A tapped template button (its payload comes back as text) or a typed number."""
        if msg.kind == "text" and msg.text.startswith(BUTTON_MARK):
            payload = msg.text.removeprefix(BUTTON_MARK)
            return Incoming(
                CHANNEL, msg.user_key, "button", payload=payload, event_id=msg.event_id
            )
        return self._sessions.get(user_id).press(msg)

    def _forget(self, user: User) -> None:
        for key in user.ident:
            channel, _, user_id = key.partition(":")
            if channel == CHANNEL:
                self.windows.forget(user_id)

    # --- outgoing -------------------------------------------------------------------------

    def can_reach(self, user_key: str) -> bool:
        """Whether a message to this "zalo_oa:<id>" user may go now (48-hour window, quota)."""
        channel, _, user_id = user_key.partition(":")
        if channel != CHANNEL:
            return False
        return self.windows.refusal(user_id, self.engine.services.clock.now()) is None

    async def send(self, user_id: str, replies: list[Reply], *, partial: bool = False) -> None:
        """Deliver replies to a user; raises OutsideWindow when the OA may not write now.

        All or nothing: when the window lacks room for every message, none is sent, unless
        `partial` (an answer to the user's own message: what fits beats nothing).
        """
        replies = [without_keyboards(r) for r in self._progress.keep(user_id, replies)]
        self._sessions.get(user_id).render(replies)  # remembers buttons for typed numbers
        messages: list[dict[str, Any]] = []
        number = 0
        for reply in replies:
            made, number = self._messages(reply, number, f"{CHANNEL}:{user_id}")
            messages.extend(made)
        now = self.engine.services.clock.now()
        reason = self.windows.refusal(user_id, now, len(messages))
        if reason is not None and not partial:
            raise OutsideWindow(user_id, reason)
        fits = messages[: self.windows.room(user_id, now)] if reason else messages
        done = 0
        try:
            for message in fits:
                await self._send_message(user_id, message)
                done += 1
        finally:
            if done:
                self.windows.sent(user_id, done)
        if reason is not None:
            raise OutsideWindow(user_id, f"{len(messages) - done} not sent: {reason}")

    def _messages(
        self, reply: Reply, number: int, user_key: str
    ) -> tuple[list[dict[str, Any]], int]:
        """OA message bodies for one reply to a user, and the running button number after it."""
        messages: list[dict[str, Any]] = []
        for ref in reply.photos:
            url = media_url(ref, self.settings.base_url)
            if url is None:
                log.info("photo %s cannot be shown on Zalo", ref[:40])
                continue
            element = {"media_type": "image", "url": url}
            payload = {"template_type": "media", "elements": [element]}
            messages.append({"attachment": {"type": "template", "payload": payload}})
        text = to_plain(reply.text).strip()
        if reply.document is not None:
            name, content = reply.document
            link = publish_document(
                self.media_dir, self.settings.base_url, name, content, user_key
            )
            text = f"{text}\n📎 {name}: {link}".strip()
        buttons = [b for row in reply.buttons for b in row]
        lines = []
        for i, button in enumerate(buttons[BUTTONS_MAX:], number + BUTTONS_MAX + 1):
            label = to_plain(button.label)
            lines.append(label if _NUMBERED.match(label) else f"{i}. {label}")
        if lines:
            text = f"{text}\n\n" + "\n".join(lines)
        chunks = split_message(text, TEXT_LIMIT) if text else []
        if buttons and not chunks:
            chunks = ["…"]
        for i, chunk in enumerate(chunks):
            message: dict[str, Any] = {"text": chunk}
            if i == len(chunks) - 1 and buttons:
                template = [self._button(b) for b in buttons[:BUTTONS_MAX]]
                message["attachment"] = {"type": "template", "payload": {"buttons": template}}
            messages.append(message)
        return messages, number + len(buttons)

    @staticmethod
    def _button(button: Button) -> dict[str, Any]:
        title = to_plain(button.label)[:TITLE_MAX]
        if button.url:
            return {"title": title, "type": "oa.open.url", "payload": {"url": button.url}}
        # "hide": the tap reaches us as a message the user does not see echoed in the chat.
        return {"title": title, "type": "oa.query.hide", "payload": BUTTON_MARK + button.payload}

    async def _send_message(self, user_id: str, message: dict[str, Any]) -> None:
        """POST one message (the caller checked the window), renewing the token once."""
        body = {"recipient": {"user_id": user_id}, "message": message}
        url = f"{self.settings.zalo_api_base_url}/v3.0/oa/message/cs"
        used = self._token
        data = await self._post_json(url, body, used.access_token)
        if _error(data) in TOKEN_ERRORS:
            log.info("OA access token rejected (%s); renewing it", _error(data))
            await self._refresh(used)
            data = await self._post_json(url, body, self._token.access_token)
        if _error(data) != 0:
            raise ZaloError(f"OA send failed: {_error(data)} {data.get('message', '')}")

    async def _post_json(self, url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        http = self._session()
        async with http.post(url, json=body, headers={"access_token": token}) as response:
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ZaloError(f"unexpected OA answer (HTTP {response.status})")
        return data

    async def _refresh(self, used: OAToken) -> None:
        """Renew the token pair once, storing it durably before it is used."""
        async with self._refresh_lock:
            if self._token != used:
                return  # another send renewed it while we waited
            s = self.settings
            if not used.refresh_token or not s.zalo_app_secret:
                raise ZaloError("the OA access token expired and no refresh token is configured")
            form = {
                "refresh_token": used.refresh_token,
                "app_id": s.zalo_app_id,
                "grant_type": "refresh_token",
            }
            url = f"{s.zalo_oauth_base_url}/v4/oa/access_token"
            http = self._session()
            async with http.post(
                url, data=form, headers={"secret_key": s.zalo_app_secret}
            ) as resp:
                data = await resp.json(content_type=None)
            if not isinstance(data, dict) or not data.get("access_token"):
                detail = (
                    data.get("error_description") or data.get("error")
                    if isinstance(data, dict)
                    else data
                )
                raise ZaloError(f"renewing the OA token failed: {detail}")
            token = OAToken(str(data["access_token"]), str(data.get("refresh_token") or ""))
            self.tokens.save(token)  # the old refresh token is spent: persist before use
            self._token = token
            log.info("OA access token renewed")

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise ZaloError("the Zalo OA channel is not started")
        return self._http


def _error(data: dict[str, Any]) -> int:
    try:
        return int(data.get("error", 0))
    except (TypeError, ValueError):
        return -1
