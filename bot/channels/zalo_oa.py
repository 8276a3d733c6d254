"""Zalo Official Account: signed webhook events in, the OA message API out.

Events are acknowledged at once and handled in the background. Flow buttons become template
buttons (up to five; numbered lines beyond). An answer to a user's message goes as a reply to
it (`recipient.message_id`, Zalo's free reply quota), other messages to the user id.

The token pair is kept fresh by `TokenKeeper` (zalo_oa_token.py); a send refused for its
token renews the pair once and is retried. The OA may only message a user within 48 hours of
their message; Zalo's own window and quota refusals make the user "out of reach".
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
    ZaloChannel,
    ZaloError,
    media_url,
    publish_document,
    set_following,
    without_keyboards,
)
from bot.channels.zalo_oa_state import (
    OAToken,
    OutsideWindow,
    TokenBook,
    TokenFile,
    TokenTable,
    WindowBook,
)
from bot.channels.zalo_oa_token import TokenKeeper
from bot.config import Settings
from bot.core.engine import Engine
from bot.core.fmt import to_plain
from bot.core.types import Button, Incoming, Reply
from bot.services.container import Services
from bot.services.users import User
from bot.text import split_message

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "OutsideWindow", "ZaloOAChannel", "is_probe", "to_incoming"]

CHANNEL = "zalo_oa"
TEXT_LIMIT = 2000
BUTTONS_MAX = 5
TITLE_MAX = 100
WORKERS = 16
# Our payloads come back as the user's text; the mark tells them from anything typed.
BUTTON_MARK = "#nds:"
# The access token is invalid (-216), expired or removed (-220), or refused (-124): renew it
# and retry once.
TOKEN_ERRORS = frozenset({-216, -220, -124})
# An invalid parameter (a field too long, a message_id Zalo will not reply to): never renew.
INVALID_PARAM = -201
# Zalo will not deliver to this user now (outside its window, quota used): out of reach.
OUT_OF_REACH = frozenset({-230, -232, -213})
_NUMBERED = re.compile(r"^\d+\.\s")
TOKEN_FILE = "zalo_oa_token.json"  # in DATA_DIR, on the embedded store


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


def is_probe(body: bytes) -> bool:
    """Whether a webhook call is Zalo's URL check: an empty or `{}` body, no event."""
    if not body.strip():
        return True
    try:
        return bool(json.loads(body) == {})
    except ValueError:
        return False


def _follower(data: dict[str, Any]) -> str:
    who = data.get("follower") or data.get("sender") or {}
    return str(who.get("id") or "")


class ZaloOAChannel(ZaloChannel):
    """One Official Account, feeding the engine."""

    def __init__(self, settings: Settings, engine: Engine[Services]) -> None:
        super().__init__(settings, engine, CHANNEL, self.send, ZaloOADirect(self))
        initial = OAToken(settings.zalo_oa_access_token, settings.zalo_oa_refresh_token)
        services = engine.services
        file = TokenFile(settings.data_dir / TOKEN_FILE, initial)
        # Several processes share the pair through the store; one process keeps its file.
        self.tokens: TokenBook = (
            TokenTable(services.store, initial, file) if services.store.shared else file
        )
        self.keeper = TokenKeeper(
            settings, self.tokens, services.store, services.clock, services.alerts, self._session
        )
        self.windows = WindowBook(services.store)
        # Few events worked on at once, so the webhook's own answers are never kept waiting.
        self._working = asyncio.Semaphore(WORKERS)
        engine.services.deletion_hooks.append(self._forget)
        engine.services.jobs.append(self.keeper.timer)

    async def start(self) -> None:
        """Open the HTTP session (events arrive on the webhook); renew a token of unknown age."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        await self.keeper.start()  # renews only when its expiry is unknown or near

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
        if not given:
            return False
        s = self.settings
        # A body that is no object has no timestamp to sign: signed with an empty one, it is
        # ours all the same (acknowledged and skipped by the webhook, never a 401).
        timestamp = str(data.get("timestamp", "")) if isinstance(data, dict) else ""
        expected = signature(s.zalo_app_id, body, timestamp, s.zalo_oa_secret_key)
        given = given.strip().removeprefix("mac=").lower()
        return hmac.compare_digest(given.encode(), expected.encode())

    def accept(self, data: dict[str, Any]) -> None:
        """Handle a verified event in the background (the webhook must answer within 2 s)."""
        self._spawn(self._process_logged(data))

    async def _process_logged(self, data: dict[str, Any]) -> None:
        try:
            async with self._working:  # FIFO: a user's events still start in arrival order
                await self.process(data)
        except Exception:  # a background task: nobody else would ever see the error
            log.exception("error while handling a %s event", CHANNEL)

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
        reply_to = ""
        if self.settings.zalo_oa_reply_mode == "message_id":
            reply_to = str((data.get("message") or {}).get("msg_id") or "")
        try:
            await self.send(user_id, replies, partial=True, reply_to=reply_to)
        except OutsideWindow as exc:  # Zalo's rules, not a fault of ours
            log.info("could not answer OA user %s: %s", user_id, exc.reason)
        except (TimeoutError, ZaloError, aiohttp.ClientError):
            log.exception("could not answer OA user %s", user_id)

    def _press(self, user_id: str, msg: Incoming) -> Incoming:
        """A tapped template button (its payload comes back as text) or a typed number."""
        if msg.kind == "text" and msg.text.startswith(BUTTON_MARK):
            payload = msg.text.removeprefix(BUTTON_MARK)
            return Incoming(
                CHANNEL, msg.user_key, "button", payload=payload, event_id=msg.event_id
            )
        return self.menus.press(user_id, msg)

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

    async def send(
        self, user_id: str, replies: list[Reply], *, partial: bool = False, reply_to: str = ""
    ) -> None:
        """Deliver replies to a user; raises OutsideWindow when the OA may not write now.

        All or nothing: when the window lacks room for every message, none is sent, unless
        `partial` (an answer to the user's own message: what fits beats nothing). With
        `reply_to` (the user's msg_id) the messages go as replies to that message.
        """
        replies = [without_keyboards(r) for r in self._progress.keep(user_id, replies)]
        await self.menus.show(user_id, replies)  # remembers buttons for typed numbers
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
        done = replied = 0
        try:
            for message in fits:
                reply_to = await self._send_message(user_id, message, reply_to)
                done += 1
                replied += bool(reply_to)  # still a reply: it went to the message_id
        finally:
            if done:  # what actually went, as it went
                self.windows.sent(user_id, done, replied)
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
        if reply.audio_link:  # the OA cannot send audio: a page that plays it
            text = f"{text}\n🎧 {reply.audio_link}".strip()
        if reply.document is not None:
            name, content = reply.document
            link = publish_document(
                self.media_dir, self.settings.base_url, name, content, user_key
            )
            text = f"{text}\n📎 {name}: {link}".strip()
        buttons = [b for row in reply.buttons for b in row]
        lines = []
        for i, button in enumerate(buttons[BUTTONS_MAX:], number + BUTTONS_MAX + 1):
            label = button.label  # plain text, never HTML
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
        title = button.label[:TITLE_MAX]
        if button.url:
            return {"title": title, "type": "oa.open.url", "payload": {"url": button.url}}
        # "hide": the tap reaches us as a message the user does not see echoed in the chat.
        return {"title": title, "type": "oa.query.hide", "payload": BUTTON_MARK + button.payload}

    async def _send_message(self, user_id: str, message: dict[str, Any], reply_to: str) -> str:
        """POST one message (the caller checked the window); the reply_to for the next one.

        A reply Zalo refuses as an invalid parameter is sent once more to the user id, and the
        rest of the answer goes that way too. Raises OutsideWindow when Zalo will not deliver
        to the user now, ZaloError for any other refusal.
        """
        await self.keeper.renew_ahead()
        recipient = {"message_id": reply_to} if reply_to else {"user_id": user_id}
        data = await self._post_message(recipient, message)
        if _error(data) == INVALID_PARAM and reply_to:
            log.info("Zalo OA refused a reply to message %s; sending to the user id", reply_to)
            reply_to = ""
            data = await self._post_message({"user_id": user_id}, message)
        code = _error(data)
        if code == 0:
            return reply_to
        detail = f"{code} {data.get('message', '')}".strip()
        if code in OUT_OF_REACH:
            self.windows.close(user_id, f"Zalo answered {detail}")
            raise OutsideWindow(user_id, f"Zalo answered {detail}")
        if code == INVALID_PARAM:
            log.warning(
                "Zalo OA refused a %s message: invalid parameter (%s)", _kind(message), detail
            )
        else:
            log.warning("Zalo OA send of a %s message failed: %s", _kind(message), detail)
        raise ZaloError(f"OA send failed: {detail}", code)

    async def _post_message(
        self, recipient: dict[str, str], message: dict[str, Any]
    ) -> dict[str, Any]:
        """POST a message; on a token error renew the pair once and POST it again."""
        body = {"recipient": recipient, "message": message}
        url = f"{self.settings.zalo_api_base_url}/v3.0/oa/message/cs"
        used = self.keeper.pair
        data = await self._post_json(url, body, used.access_token)
        if _error(data) in TOKEN_ERRORS:
            log.info("OA access token rejected (%s); renewing it", _error(data))
            await self.keeper.refresh(used)
            data = await self._post_json(url, body, self.keeper.pair.access_token)
        return data

    async def _post_json(self, url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        http = self._session()
        async with http.post(url, json=body, headers={"access_token": token}) as response:
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ZaloError(f"unexpected OA answer (HTTP {response.status})")
        return data

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise ZaloError("the Zalo OA channel is not started")
        return self._http


def _kind(message: dict[str, Any]) -> str:
    """What kind of message a body is, for the logs."""
    attachment = message.get("attachment") or {}
    if (attachment.get("payload") or {}).get("template_type") == "media":
        return "photo"
    return "text with buttons" if attachment else "text"


def _error(data: dict[str, Any]) -> int:
    try:
        return int(data.get("error", 0))
    except (TypeError, ValueError):
        return -1
