"""Zalo Bot: a Telegram-like Bot API without buttons; menus go out as numbered lines.

Updates come by long polling (one update per getUpdates call, no offset) or, when a webhook
secret is configured, on our webhook. Redelivered messages are recognised by message_id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from bot.channels.plain import incoming_text
from bot.channels.zalo_broadcast import ZaloBotDirect
from bot.channels.zalo_common import (
    ZaloChannel,
    ZaloError,
    media_url,
    publish_document,
    set_following,
    without_keyboards,
)
from bot.channels.zalo_shapes import bot_update_problem
from bot.config import Settings
from bot.core.engine import Engine
from bot.core.types import Incoming, Reply
from bot.services.container import Services
from bot.text import split_message

log = logging.getLogger(__name__)

CHANNEL = "zalo_bot"
TEXT_LIMIT = 2000
POLL_TIMEOUT = 30  # seconds Zalo holds a getUpdates call open
WEBHOOK_PATH = "/webhooks/zalo-bot"
BACKOFF_MAX = 30.0
NO_UPDATE = 408  # getUpdates' error code when the long poll ends with nothing new


def to_incoming(update: dict[str, Any]) -> Incoming | None:
    """The channel-neutral view of a Zalo Bot update (None for what we do not handle)."""
    event = str(update.get("event_name", ""))
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat") or {}
    sender = message.get("from") or {}
    if str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE" or sender.get("is_bot"):
        return None
    chat_id = str(chat.get("id") or sender.get("id") or "")
    if not chat_id:
        return None
    name = sender.get("display_name") or sender.get("first_name") or sender.get("name") or ""
    key = f"{CHANNEL}:{chat_id}"
    event_id = str(message.get("message_id") or "")
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_key": key,
        "display_name": str(name)[:64],
        "event_id": event_id,
    }
    text = str(message.get("text") or message.get("caption") or "")
    photo = str(message.get("photo") or message.get("photo_url") or "")  # SDKs disagree
    if event == "message.image.received" or photo:
        return Incoming(kind="photo", photo=photo, text=text, **base)
    if event == "message.sticker.received":
        return Incoming(kind="sticker", **base)
    if event == "message.voice.received":
        return Incoming(kind="voice", photo=str(message.get("voice_url") or ""), **base)
    if event == "message.text.received" or (text and event.startswith("message.")):
        return incoming_text(
            CHANNEL, key, text, display_name=base["display_name"], event_id=event_id
        )
    return Incoming(kind="other", **base)


def _updates(result: Any) -> list[dict[str, Any]]:
    """getUpdates gives one update object; tolerate a list, and nothing on a timeout."""
    if isinstance(result, list):
        return [u for u in result if isinstance(u, dict)]
    return [result] if isinstance(result, dict) and result else []


class ZaloBotChannel(ZaloChannel):
    """One Zalo Bot account, feeding the engine."""

    def __init__(self, settings: Settings, engine: Engine[Services]) -> None:
        super().__init__(settings, engine, CHANNEL, self.send, ZaloBotDirect(self))
        self._poller: asyncio.Task[None] | None = None
        self.received = 0  # updates accepted so far (tests wait on it; a health figure)

    @property
    def webhook_url(self) -> str:
        """Where Zalo delivers updates in webhook mode ("" when long polling)."""
        if not self.settings.zalo_bot_webhook_secret:
            return ""
        return self.settings.base_url + WEBHOOK_PATH

    async def start(self) -> None:
        """Register the webhook, or start long polling."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=POLL_TIMEOUT + 15))
        if self.webhook_url:
            secret = self.settings.zalo_bot_webhook_secret
            await self.call("setWebhook", {"url": self.webhook_url, "secret_token": secret})
            return
        try:
            await self.call("deleteWebhook", {})  # getUpdates does not work while one is set
        except (TimeoutError, ZaloError, aiohttp.ClientError):
            log.warning("Zalo Bot: could not remove a webhook; polling anyway", exc_info=True)
        if self.engine.services.store.shared:
            # The app runs polling in one process at a time (a lease); getUpdates has no offset,
            # so an update fetched by a process that dies is lost: several processes want the
            # webhook (ZALO_BOT_WEBHOOK_SECRET).
            log.warning("Zalo Bot polls with several processes: prefer its webhook")
        else:
            await self.start_polling()

    async def start_polling(self) -> None:
        """Fetch updates by long polling."""
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="zalo-bot-poll")

    async def stop_polling(self) -> None:
        """Stop fetching updates (at a stop, or when another process took the lease)."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def stop(self) -> None:
        """Stop polling, finish updates in progress, close the HTTP session."""
        await self.stop_polling()
        await self.idle()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        """Call a Bot API method; its `result`, or ZaloError when `ok` is false."""
        if self._http is None:
            raise ZaloError("the Zalo Bot channel is not started")
        base = self.settings.zalo_bot_api_base_url
        url = f"{base}/bot{self.settings.zalo_bot_token}/{method}"
        async with self._http.post(url, json=body) as response:
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ZaloError(f"{method}: unexpected answer (HTTP {response.status})")
        if not data.get("ok"):
            code = data.get("error_code")
            raise ZaloError(
                f"{method}: {code} {data.get('description', '')}",
                code if isinstance(code, int) else 0,
            )
        return data.get("result")

    async def _poll(self) -> None:
        """Long-poll getUpdates forever, backing off while the server fails."""
        delay = 1.0
        while True:
            try:
                result = await self.call("getUpdates", {"timeout": POLL_TIMEOUT})
            except asyncio.CancelledError:
                raise
            except (ZaloError, TimeoutError, aiohttp.ClientError, ValueError) as exc:
                if isinstance(exc, ZaloError) and exc.code == NO_UPDATE:
                    continue
                log.warning("Zalo Bot getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = 1.0
            for update in _updates(result):
                problem = bot_update_problem(update)
                if problem is not None:
                    log.warning("Zalo Bot: malformed update skipped (%s)", problem)
                    continue
                self.accept(update)

    def accept(self, update: dict[str, Any]) -> None:
        """Handle an update in the background (polling goes on; webhooks answer at once)."""
        self.received += 1
        self._spawn(self._process_logged(update))

    async def _process_logged(self, update: dict[str, Any]) -> None:
        try:
            await self.process(update)
        except Exception:  # a background task: nobody else would ever see the error
            log.exception("error while handling a %s event", CHANNEL)

    async def process(self, update: dict[str, Any]) -> None:
        """Answer one update through the engine."""
        event = str(update.get("event_name", ""))
        if event in ("user.follow", "user.unfollow"):
            message = update.get("message")
            who = (
                (message.get("from") or message.get("chat") or {})
                if isinstance(message, dict)
                else {}
            )
            if who.get("id"):
                key = f"{CHANNEL}:{who['id']}"
                set_following(self.engine.services.users, key, event == "user.follow")
            return
        msg = to_incoming(update)
        if msg is None:
            return
        chat_id = msg.user_key.partition(":")[2]
        replies = await self.engine.handle(self.menus.press(chat_id, msg))
        try:
            await self.send(chat_id, replies)
        except (TimeoutError, ZaloError, aiohttp.ClientError):
            log.exception("could not answer Zalo Bot chat %s", chat_id)

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Deliver replies to a chat: photos by URL, text in pieces of at most 2,000."""
        replies = [without_keyboards(r) for r in self._progress.keep(chat_id, replies)]
        texts = await self.menus.show(chat_id, replies)
        for reply, text in zip(replies, texts, strict=True):
            for ref in reply.photos:
                url = media_url(ref, self.settings.base_url)
                if url is None:
                    log.info("photo %s cannot be shown on Zalo", ref[:40])
                    continue
                await self.call("sendPhoto", {"chat_id": chat_id, "photo": url})
            if reply.document is not None:
                name, content = reply.document
                link = publish_document(
                    self.media_dir, self.settings.base_url, name, content, f"{CHANNEL}:{chat_id}"
                )
                text = f"{text}\n📎 {name}: {link}".strip()
            for chunk in split_message(text, TEXT_LIMIT):
                await self.call("sendMessage", {"chat_id": chat_id, "text": chunk})
