"""Fake Zalo servers on 127.0.0.1, built from docs/ZALO.md: the OA Open API and the Bot API.

Each fake checks what the bot sends against the documented rules (recording `violations`),
keeps what reached each user, and plays the user's side: signed OA webhook events (and the
developer console's unsigned URL probe), Zalo Bot updates handed out one per getUpdates call
(or posted to the bot's webhook). The OA fake answers as Zalo does: -216/-220 for a bad or
expired token, -201 for an invalid parameter, -230 outside its window.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Self

import aiohttp
from aiohttp import web

OA_TEXT_MAX = 2000
OA_BUTTONS_MAX = 5
OA_BUTTON_TYPES = {"oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.phone", "oa.open.sms"}
TOKEN_INVALID = -216
TOKEN_EXPIRED = -220
INVALID_PARAM = -201
OUTSIDE_WINDOW = -230
TOKEN_LIFETIME = timedelta(seconds=90_000)  # "expires_in": "90000", about 25 hours
REPLY_WINDOW = timedelta(hours=48)
BOT_TEXT_MAX = 2000


class _Server:
    """An aiohttp app on a free loopback port."""

    def __init__(self) -> None:
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.violations: list[str] = []
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def http(self) -> aiohttp.ClientSession:
        """The user side's HTTP client (posts webhook calls to the bot)."""
        assert self._http is not None, "use the fake as an async context manager"
        return self._http


class FakeZaloOA(_Server):
    """The OA message API, the OAuth token endpoint, and the OA's users.

    Given a clock (the test's), it keeps time as Zalo does: an access token expires
    TOKEN_LIFETIME after it was issued (−220), and a user who has not written within `window`
    cannot be sent to (−230). An over-long field is an invalid parameter (−201).
    """

    def __init__(
        self,
        app_id: str = "4321",
        oa_secret_key: str = "oa-secret-key",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.clock = clock
        self.app_secret = "app-secret"
        self.access_token = "access-1"
        self.refresh_token = "refresh-1"
        self.access_expires = self._in(TOKEN_LIFETIME)
        self.expired_tokens: set[str] = set()
        self.revoked_refresh_tokens: set[str] = set()
        self.spent_refresh_tokens: list[str] = []
        self.refreshes = 0
        self.token_requests = 0  # calls to the token endpoint, refused ones included
        self.rejected_sends = 0  # sends refused for their access token
        self.sent: list[dict[str, Any]] = []  # {"user_id", "message", "reply_to"} in order
        self.errors: list[tuple[int, str]] = []  # (code, why) of every other refused send
        self.text_max = OA_TEXT_MAX  # a test may lower it: Zalo's real limits are not all known
        self.window = REPLY_WINDOW
        self.last_interaction: dict[str, datetime] = {}
        self.refusals: dict[str, int] = {}  # user id -> the error code every send to them gets
        self.accept_message_id = True  # whether `recipient.message_id` (a reply) is accepted
        self.webhook_url = ""
        self._msg_owner: dict[str, str] = {}  # a user's msg_id -> that user
        self._ids = itertools.count(1)
        self.app.router.add_post("/v3.0/oa/message/cs", self._send)
        self.app.router.add_post("/v4/oa/access_token", self._token)

    def _in(self, delta: timedelta) -> datetime | None:
        return self.clock() + delta if self.clock is not None else None

    # --- the platform ---------------------------------------------------------------------

    def expire_token(self) -> None:
        """The current access token stops working (as after its ~25 hours)."""
        self.expired_tokens.add(self.access_token)

    def revoke_refresh_token(self) -> None:
        """The current refresh token stops working (revoked, or its ~3 months are over)."""
        self.revoked_refresh_tokens.add(self.refresh_token)

    def _token_error(self, token: str) -> web.Response | None:
        if token != self.access_token:
            self.rejected_sends += 1
            return web.json_response(
                {"error": TOKEN_INVALID, "message": "Access token is invalid"}
            )
        now = self.clock() if self.clock is not None else None
        late = now is not None and self.access_expires is not None and now >= self.access_expires
        if token in self.expired_tokens or late:
            self.rejected_sends += 1
            return web.json_response(
                {"error": TOKEN_EXPIRED, "message": "Access token has expired or been removed"}
            )
        return None

    async def _send(self, request: web.Request) -> web.Response:
        refused = self._token_error(request.headers.get("access_token", ""))
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return self._invalid("body is not JSON")
        recipient = body.get("recipient") or {}
        message = body.get("message")
        reply_to = recipient.get("message_id")
        user_id = recipient.get("user_id")
        if reply_to is not None:
            if user_id is not None:
                return self._invalid("recipient takes user_id or message_id, not both")
            if not self.accept_message_id or reply_to not in self._msg_owner:
                return self._error(INVALID_PARAM, f"invalid recipient.message_id {reply_to!r}")
            user_id = self._msg_owner[reply_to]
        if not isinstance(user_id, str) or not isinstance(message, dict):
            return self._invalid("recipient (user_id or message_id) and message are required")
        problem = self._check_message(message)
        if problem:
            return self._invalid(problem)
        text = message.get("text")
        if isinstance(text, str) and len(text) > self.text_max:
            return self._error(INVALID_PARAM, f"text longer than {self.text_max} characters")
        if user_id in self.refusals:
            return self._error(self.refusals[user_id], "cannot send to this user now")
        if self.clock is not None:
            wrote = self.last_interaction.get(user_id)
            if wrote is None or self.clock() - wrote > self.window:
                return self._error(
                    OUTSIDE_WINDOW, "User has not interacted with the OA in the allowed window"
                )
        self.sent.append({"user_id": user_id, "message": message, "reply_to": reply_to or ""})
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"message_id": f"m{next(self._ids)}"}}
        )

    def _check_message(self, message: dict[str, Any]) -> str:
        text = message.get("text")
        attachment = message.get("attachment")
        if text is None and attachment is None:
            return "message needs text or an attachment"
        if text is not None and not (isinstance(text, str) and 0 < len(text) <= OA_TEXT_MAX):
            return f"text must be 1–{OA_TEXT_MAX} characters"
        if attachment is None:
            return ""
        payload = attachment.get("payload") or {}
        if attachment.get("type") != "template":
            return "attachment type must be template"
        if payload.get("template_type") == "media":
            elements = payload.get("elements") or []
            ok = elements and all(str(e.get("url", "")).startswith("http") for e in elements)
            return "" if ok else "media elements need URLs"
        buttons = payload.get("buttons") or []
        if not 0 < len(buttons) <= OA_BUTTONS_MAX:
            return f"1–{OA_BUTTONS_MAX} buttons allowed"
        for button in buttons:
            if button.get("type") not in OA_BUTTON_TYPES or not button.get("title"):
                return f"bad button {button!r}"
        return ""

    def _invalid(self, why: str) -> web.Response:
        """A request no correct client sends: a violation, answered −201 as Zalo does."""
        self.violations.append(why)
        return self._error(INVALID_PARAM, why)

    def _error(self, code: int, why: str) -> web.Response:
        self.errors.append((code, why))
        return web.json_response({"error": code, "message": why})

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if request.headers.get("secret_key") != self.app_secret:
            return web.json_response({"error": -14001, "error_description": "bad secret_key"})
        if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
            return web.json_response({"error": -14002, "error_description": "bad request"})
        if form.get("refresh_token") in self.revoked_refresh_tokens:
            return web.json_response(
                {"error": -14014, "error_description": "invalid refresh token"}
            )
        if form.get("refresh_token") != self.refresh_token:
            self.violations.append(
                f"refresh token reused or unknown: {form.get('refresh_token')!r}"
            )
            return web.json_response(
                {"error": -14014, "error_description": "invalid refresh token"}
            )
        self.spent_refresh_tokens.append(self.refresh_token)
        self.refreshes += 1
        self.access_token = f"access-{self.refreshes + 1}"
        self.refresh_token = f"refresh-{self.refreshes + 1}"
        self.access_expires = self._in(TOKEN_LIFETIME)
        return web.json_response(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": str(int(TOKEN_LIFETIME.total_seconds())),
            }
        )

    # --- the users ------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: str) -> str:
        """The signature Zalo puts in X-ZEvent-Signature."""
        data = self.app_id.encode() + body + timestamp.encode() + self.oa_secret_key.encode()
        return hashlib.sha256(data).hexdigest()

    def event(self, name: str, user_id: str, **message: Any) -> dict[str, Any]:
        """An OA webhook event from a user."""
        event: dict[str, Any] = {
            "event_name": name,
            "app_id": self.app_id,
            "sender": {"id": user_id},
            "recipient": {"id": "oa-1"},
            "timestamp": str(1_699_003_881_354 + next(self._ids)),
            "user_id_by_app": f"app-{user_id}",
        }
        if name in ("follow", "unfollow"):
            event["follower"] = event.pop("sender")
        else:
            event["message"] = {"msg_id": f"msg{next(self._ids)}", **message}
        return event

    async def deliver(
        self, event: dict[str, Any], signature: str | None = "ok", prefix: str = ""
    ) -> int:
        """POST an event to the bot's webhook (signed unless told otherwise); the HTTP status."""
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "ok":
            headers["X-ZEvent-Signature"] = prefix + self.sign(body, event["timestamp"])
        elif signature is not None:
            headers["X-ZEvent-Signature"] = signature
        if event.get("event_name", "").startswith("user_send_"):
            user_id = event["sender"]["id"]
            self._msg_owner[event["message"]["msg_id"]] = user_id
            if self.clock is not None:
                self.last_interaction[user_id] = self.clock()
        async with self.http.post(self.webhook_url, data=body, headers=headers) as response:
            return response.status

    async def probe(self, body: bytes = b"{}") -> int:
        """The developer console checking the webhook URL: an unsigned POST; the HTTP status."""
        headers = {"Content-Type": "application/json"}
        async with self.http.post(self.webhook_url, data=body, headers=headers) as response:
            return response.status

    async def say(self, user_id: str, text: str) -> dict[str, Any]:
        """The user types text; returns the event (to redeliver it)."""
        event = self.event("user_send_text", user_id, text=text)
        assert await self.deliver(event) == 200
        return event

    async def tap(self, user_id: str, fragment: str) -> None:
        """The user taps the template button (of the last message with buttons) named so."""
        for button in self.buttons(user_id):
            if fragment.lower() in button["title"].lower():
                await self.say(user_id, button["payload"])  # oa.query.*: the payload comes back
                return
        raise AssertionError(f"no button {fragment!r} in {self.buttons(user_id)}")

    def messages(self, user_id: str) -> list[dict[str, Any]]:
        """Every message the OA sent this user."""
        return [s["message"] for s in self.sent if s["user_id"] == user_id]

    def texts(self, user_id: str) -> list[str]:
        """The text of every message the OA sent this user."""
        return [m["text"] for m in self.messages(user_id) if "text" in m]

    def buttons(self, user_id: str) -> list[dict[str, Any]]:
        """The template buttons of the last message to this user that had some."""
        for message in reversed(self.messages(user_id)):
            payload = (message.get("attachment") or {}).get("payload") or {}
            if payload.get("buttons"):
                return list(payload["buttons"])
        return []


class FakeZaloBot(_Server):
    """The Zalo Bot API for one bot token, and the bot's users."""

    def __init__(self, token: str = "1234567890:fakeSecretToken") -> None:
        super().__init__()
        self.token = token
        self.sent: list[dict[str, Any]] = []  # {"method", "chat_id", "text"/"photo"}
        self.calls: list[str] = []
        self.webhook: dict[str, str] = {}
        self.handed_out = 0
        self.fail_updates = 0  # answer this many getUpdates calls with a server error
        self.poll_timeout_cap = 0.2  # seconds a getUpdates call waits here (tests stay quick)
        self._queue: deque[dict[str, Any]] = deque()
        self._arrived = asyncio.Event()
        self._ids = itertools.count(1)
        self.app.router.add_post("/bot{token}/{method}", self._method)

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        method = request.match_info["method"]
        self.calls.append(method)
        try:
            params = await request.json() if request.can_read_body else {}
        except ValueError:
            return self._error(400, "body must be JSON")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, f"method {method} not found")
        result: web.Response = await handler(params)
        return result

    def _error(self, code: int, why: str, violation: bool = False) -> web.Response:
        if violation:
            self.violations.append(why)
        return web.json_response({"ok": False, "error_code": code, "description": why})

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _m_getMe(self, _params: dict[str, Any]) -> web.Response:
        bot_id = self.token.split(":", 1)[0]
        return self._ok({"id": bot_id, "account_name": "bot.nds", "account_type": "BASIC"})

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook:
            return self._error(400, "getUpdates is not allowed while a webhook is set", True)
        if self.fail_updates:
            self.fail_updates -= 1
            return self._error(500, "Internal server error")
        wait = min(float(params.get("timeout", 0) or 0), self.poll_timeout_cap)
        if not self._queue:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)
        if not self._queue:
            return self._error(408, "Request timeout")
        self.handed_out += 1
        return self._ok(self._queue.popleft())  # one update, not a list; no offset

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        secret = str(params.get("secret_token", ""))
        if not str(params.get("url", "")).startswith("https://") or not 8 <= len(secret) <= 256:
            return self._error(400, "webhook url must be https and secret_token 8–256 chars", True)
        self.webhook = {"url": params["url"], "secret_token": secret}
        return self._ok({"url": params["url"], "updated_at": 1766619597466})

    async def _m_deleteWebhook(self, _params: dict[str, Any]) -> web.Response:
        self.webhook = {}
        return self._ok({"url": "", "updated_at": 1766619597466})

    async def _m_getWebhookInfo(self, _params: dict[str, Any]) -> web.Response:
        return self._ok({"url": self.webhook.get("url", ""), "updated_at": 1766619597466})

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        text = params.get("text")
        if not isinstance(params.get("chat_id"), str):
            return self._error(400, "chat_id must be a string", True)
        if not isinstance(text, str) or not 1 <= len(text) <= BOT_TEXT_MAX:
            return self._error(400, f"text must be 1–{BOT_TEXT_MAX} characters", True)
        self.sent.append({"method": "sendMessage", "chat_id": params["chat_id"], "text": text})
        return self._ok({"message_id": f"b{next(self._ids)}", "date": 1766619597466})

    async def _m_sendPhoto(self, params: dict[str, Any]) -> web.Response:
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            return self._error(400, "photo must be a URL", True)
        self.sent.append({"method": "sendPhoto", "chat_id": params.get("chat_id"), "photo": photo})
        return self._ok({"message_id": f"b{next(self._ids)}", "date": 1766619597466})

    async def _m_sendChatAction(self, _params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    # --- the users ------------------------------------------------------------------------

    def update(
        self, chat_id: str, text: str = "", event: str = "message.text.received", **extra: Any
    ) -> dict[str, Any]:
        """A Zalo Bot update from a user in a private chat."""
        message: dict[str, Any] = {
            "message_id": f"u{next(self._ids)}",
            "date": 1766619597466,
            "chat": {"id": chat_id, "chat_type": "PRIVATE"},
            "from": {"id": chat_id, "display_name": "Nguyen Van A", "is_bot": False},
            **extra,
        }
        if text:
            message["text"] = text
        return {"event_name": event, "message": message}

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for the next getUpdates call."""
        self._queue.append(update)
        self._arrived.set()

    async def post_webhook(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """POST an update to the bot's webhook the way Zalo does; the HTTP status."""
        headers = {} if secret is None else {"X-Bot-Api-Secret-Token": secret}
        body = {"ok": True, "result": update}
        async with self.http.post(url, json=body, headers=headers) as response:
            return response.status

    def texts(self, chat_id: str) -> list[str]:
        """Every text message sent to this chat."""
        return [s["text"] for s in self.sent if s["chat_id"] == chat_id and "text" in s]
