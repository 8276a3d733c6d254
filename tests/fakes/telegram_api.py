"""A fake Telegram Bot API server on loopback that holds the bot to the real API's rules."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, web

from tests.fakes import markup
from tests.fakes.bot_methods import BotMethods
from tests.fakes.gates import ApiError, Gates
from tests.fakes.spec import load_spec
from tests.fakes.state import TOKEN, World
from tests.fakes.updates import UpdateQueue
from tests.fakes.user_side import TINY_PNG, UserSide, inline_buttons
from tests.fakes.wire import read_params

if TYPE_CHECKING:
    from telegram.ext import ApplicationBuilder

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class FakeTelegram:
    """A Bot API server for tests: real HTTP, Telegram's checks, and helpers to drive users."""

    def __init__(
        self, *, token: str = TOKEN, self_check: bool = False, idle_quiet: float = 0.3
    ) -> None:
        self.token = token
        # How long the bot must make no call before wait_idle believes it is done.
        self.idle_quiet = idle_quiet
        self.spec = load_spec()
        self.world = World(bot_id=int(token.split(":", 1)[0]))
        self.updates = UpdateQueue()
        self.gates = Gates()
        self.api = BotMethods(self.world, self.spec, self.updates)
        self.build = UserSide(self.world)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.violations: list[str] = []
        # With self_check, every object the fake returns is checked against the spec too.
        self.self_check = self_check
        self.fake_errors: list[str] = []
        self.port = 0
        self._cursors: dict[int, int] = {}
        self._edits: dict[int, list[tuple[str, int]]] = {}
        self._in_flight = 0
        self._last_call = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The Bot API URL to give PTB's base_url (it appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """The file download URL to give PTB's base_file_url (it appends the token)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    def app_builder(self) -> ApplicationBuilder:
        """Return a PTB ApplicationBuilder already pointed at this fake."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    async def start(self) -> None:
        """Serve on a free loopback port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """End long polls and stop serving."""
        self.updates.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        """Answer one Bot API call."""
        if request.match_info["token"] != self.token:
            self.violations.append(f"call with a wrong token to {request.match_info['method']}")
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        name = request.match_info["method"]
        try:
            raw, files = await read_params(request)
        except ValueError as error:
            return self._error(name, ApiError(400, f"Bad Request: {error}"))
        method = self.spec.method_name(name)
        if method is None:
            self.calls.append((name, raw))
            return self._error(name, ApiError(404, "Not Found"))
        params, issues = self.spec.coerce_params(method, raw, files)
        self.calls.append((method, params))
        self.violations.extend(f"{method}: {soft}" for soft in issues.soft)
        self.violations.extend(
            f"{method}: button label escaped as HTML: {label!r}"
            for label in markup.escaped_labels(params)
        )
        if issues.hard:
            return self._error(method, ApiError(400, f"Bad Request: {issues.hard[0]}"))
        if method == "getUpdates":
            return await self._get_updates(request, params)
        self._in_flight += 1
        self._last_call = time.monotonic()
        try:
            refusal = self.gates.check(method, params)
            if refusal is not None:
                return self._error(method, refusal)
            result = self.api.call(method, params, files)
            if method.startswith("editMessage") and isinstance(params.get("chat_id"), int):
                self._edits.setdefault(params["chat_id"], []).append(
                    (method, int(params.get("message_id", 0)))
                )
        except ApiError as error:
            return self._error(method, error)
        finally:
            self._in_flight -= 1
            self._last_call = time.monotonic()
        self._self_check(method, result)
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, request: web.Request, params: dict[str, Any]) -> web.Response:
        """Long-poll for updates unless a webhook is set."""
        if self.world.webhook.get("url"):
            return self._error(
                "getUpdates",
                ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                ),
            )
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        try:
            updates = await self.updates.fetch(
                params.get("offset"), limit, float(params.get("timeout", 0))
            )
        except ApiError as error:
            transport = request.transport
            if transport is None or transport.is_closing():
                error.violation = False  # the poller already went away: not a live conflict
            return self._error("getUpdates", error)
        self._self_check("getUpdates", updates)
        return web.json_response({"ok": True, "result": updates})

    def _error(self, method: str, error: ApiError) -> web.Response:
        """Answer with an error, recording it as a violation when the bot caused it."""
        if error.violation:
            self.violations.append(f"{method}: {error.description}")
        return web.json_response(error.payload(), status=error.code)

    def _self_check(self, method: str, result: Any) -> None:
        """Check a result against the spec's return type when self_check is on."""
        if self.self_check:
            problems = self.spec.check_result(result, self.spec.returns(method))
            self.fake_errors.extend(f"{method} result: {p}" for p in problems)

    async def _handle_file(self, request: web.Request) -> web.Response:
        """Serve a file's bytes at the path getFile gave."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for stored in self.world.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data)
        return web.Response(status=404)

    # -- users -------------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (an update_id is assigned if missing) and return its id."""
        update_id = self.updates.push(update)
        if self.self_check:
            pushed = self.updates._history[update_id]
            problems = self.spec.check_result(pushed, ["Update"])
            self.fake_errors.extend(f"update {update_id}: {p}" for p in problems)
        return update_id

    def send_text(
        self, user_id: int, text: str, *, first_name: str = "Lan", username: str | None = None
    ) -> int:
        """Queue a private text message from a user; /commands get their entity."""
        return self.push_update(
            self.build.text(user_id, text, first_name=first_name, username=username)
        )

    def send_callback(
        self, user_id: int, data: str, *, message_id: int | None = None, check: bool = True
    ) -> int:
        """Queue a button press on a bot message (default: the bot's last one in the chat).

        With check=True the message must show a button with this callback_data.
        """
        return self.push_update(self.build.callback(user_id, data, message_id, check=check))

    def send_contact(self, user_id: int, phone: str, *, own: bool = True) -> int:
        """Queue a shared contact (own=True: the user's own, as the request_contact button)."""
        return self.push_update(self.build.contact(user_id, phone, own=own))

    def send_photo(
        self,
        user_id: int,
        file_id: str | None = None,
        caption: str | None = None,
        *,
        data: bytes = TINY_PNG,
    ) -> int:
        """Queue a photo from a user; getFile and download serve `data`."""
        return self.push_update(self.build.photo(user_id, file_id, caption, data))

    def send_sticker(self, user_id: int, file_id: str | None = None, emoji: str = "👍") -> int:
        """Queue a sticker from a user."""
        return self.push_update(self.build.sticker(user_id, file_id, emoji))

    def send_voice(
        self, user_id: int, file_id: str | None = None, duration: int = 3, *, data: bytes = b"OggS"
    ) -> int:
        """Queue a voice message from a user."""
        return self.push_update(self.build.voice(user_id, file_id, duration, data))

    def send_location(self, user_id: int, lat: float, lon: float) -> int:
        """Queue a shared location from a user."""
        return self.push_update(self.build.location(user_id, lat, lon))

    def send_document(
        self,
        user_id: int,
        file_id: str | None = None,
        file_name: str = "tai-lieu.pdf",
        mime_type: str = "application/pdf",
        *,
        data: bytes = b"%PDF-1.4\n",
    ) -> int:
        """Queue a document from a user."""
        return self.push_update(self.build.document(user_id, file_id, file_name, mime_type, data))

    def redeliver(self, update_id: int) -> None:
        """Queue an earlier update again with the same update_id, as after a bot crash."""
        self.updates.redeliver(update_id)

    def add_file(self, data: bytes, *, file_id: str | None = None, name: str = "file") -> str:
        """Make a file known to Telegram (e.g. a file_id the bot has stored); return its id."""
        return self.world.add_file(data, folder="documents", file_id=file_id, name=name).file_id

    # -- what the bot did --------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Return the bot's messages in a chat in order, edits applied, deleted ones left out."""
        world = self.world
        return [
            world.messages[(chat_id, mid)]
            for mid in world.bot_sent.get(chat_id, [])
            if (chat_id, mid) not in world.deleted
        ]

    def clear(self, chat_id: int | None = None) -> None:
        """Make wait_for count only messages sent from now on (to one chat or all)."""
        chats = [chat_id] if chat_id is not None else list(self.world.bot_sent)
        for chat in chats:
            self._cursors[chat] = len(self.world.bot_sent.get(chat, []))

    async def wait_for(
        self, chat_id: int, count: int = 1, timeout: float = 10
    ) -> list[dict[str, Any]]:
        """Wait for `count` new bot messages in a chat (since the last wait/clear); return them."""
        deadline = time.monotonic() + timeout
        cursor = self._cursors.get(chat_id, 0)
        while True:
            sent = self.world.bot_sent.get(chat_id, [])
            if len(sent) - cursor >= count:
                self._cursors[chat_id] = cursor + count
                ids = sent[cursor : cursor + count]
                return [self.world.messages[(chat_id, mid)] for mid in ids]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"waited {timeout}s for {count} new message(s) to chat {chat_id}, "
                    f"got {len(sent) - cursor}\n{self.chat_log(chat_id)}"
                )
            await asyncio.sleep(0.01)

    async def wait_idle(self, timeout: float = 10, *, quiet: float | None = None) -> None:
        """Wait until every queued update was fetched and the bot made no call for `quiet` s.

        `quiet` defaults to the fake's idle_quiet (0.3 s). A guess from silence: with the real
        bot, wait on `TelegramBot.settle()` (updates handled) or `wait_for` (messages) instead.
        """
        quiet = self.idle_quiet if quiet is None else quiet
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            quiet_since = max(self._last_call, self.updates.last_delivery)
            idle = self._in_flight == 0 and now - quiet_since >= quiet
            if idle and self.updates.all_delivered():
                return
            if now > deadline:
                raise AssertionError(
                    f"bot not idle after {timeout}s: {self.updates.pending_count()} update(s) "
                    f"queued, {self._in_flight} call(s) in flight"
                )
            await asyncio.sleep(0.02)

    def sends(self, chat_id: int) -> int:
        """How many messages the bot sent to a chat (new messages, not edits)."""
        return len(self.world.bot_sent.get(chat_id, []))

    def edits(self, chat_id: int) -> list[tuple[str, int]]:
        """(method, message_id) of every edit the bot made in a chat, in order."""
        return self._edits.get(chat_id, [])

    def buttons(self, message: dict[str, Any]) -> list[tuple[str, str]]:
        """Return (text, callback_data) of a message's inline buttons (url for link buttons)."""
        return inline_buttons(message)

    @property
    def answered_callback_ids(self) -> set[str]:
        """Ids of the callback queries the bot answered."""
        return self.world.answered

    def unanswered_callbacks(self) -> list[str]:
        """Ids of button presses the bot has not answered (Telegram shows a spinner)."""
        return [cid for cid in self.world.callback_ids if cid not in self.world.answered]

    def chat_log(self, chat_id: int) -> str:
        """Render a chat (both sides, in order) and the violations, for failure messages."""
        lines = [f"--- chat {chat_id} ---"]
        keys = sorted(k for k in self.world.messages if k[0] == chat_id)
        for key in keys:
            message = self.world.messages[key]
            who = "bot " if message["from"]["id"] == self.world.bot_user["id"] else "user"
            content = message.get("text") or message.get("caption") or _kind(message)
            gone = " (deleted)" if key in self.world.deleted else ""
            buttons = self.buttons(message)
            lines.append(f"{who}: {content}{gone}" + (f"  {buttons}" if buttons else ""))
        lines.append(f"violations: {self.violations}")
        return "\n".join(lines)

    # -- failure injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of a method fail (default: 429 retry after 1 s)."""
        self.gates.fail_next(
            method,
            error_code=error_code,
            retry_after=retry_after,
            description=description,
            times=times,
        )

    def block_chat(self, chat_id: int) -> None:
        """Make every call to this chat answer 403 "bot was blocked by the user"."""
        self.gates.blocked.add(chat_id)

    def limit_rate(self, per_second: float, per_chat_per_second: float | None = None) -> None:
        """Answer 429 to message sends beyond these rates (counted in `throttled`)."""
        self.gates.limit_rate(per_second, per_chat_per_second)

    @property
    def throttled(self) -> int:
        """How many sends limit_rate answered with 429."""
        return self.gates.throttled

    # -- webhook -----------------------------------------------------------------------------

    @property
    def webhook(self) -> dict[str, Any]:
        """The webhook the bot set (url, secret_token, allowed_updates...); url "" if none."""
        return self.world.webhook

    async def post_webhook(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """POST an update to a bot's loopback webhook like Telegram does; return the status."""
        if urlsplit(url).hostname not in _LOOPBACK_HOSTS:
            raise ValueError(f"post_webhook only posts to loopback, not {url}")
        update = self.updates.assign_id(update)
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        if self._session is None:
            self._session = ClientSession()
        async with self._session.post(url, json=update, headers=headers) as response:
            return response.status


def _kind(message: dict[str, Any]) -> str:
    """Name the content of a message without text, for chat logs."""
    for key in ("photo", "document", "sticker", "voice", "location", "contact", "video"):
        if key in message:
            return f"[{key}]"
    return "[?]"
