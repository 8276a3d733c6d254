"""Telegram: python-telegram-bot turns updates into Incoming and Replies into Bot API calls.

Long polling by default; with a webhook URL the bot's own aiohttp server receives updates
(checked against the secret token) and feeds them to the application's update queue.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace
from typing import Any

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.channels.plain import parse_command
from bot.channels.telegram_broadcast import TelegramDirect
from bot.channels.telegram_limits import ReplyRateLimiter
from bot.config import Settings
from bot.core.engine import Engine
from bot.core.fmt import esc
from bot.core.types import Incoming, Reply
from bot.i18n import _, use_locale
from bot.services.container import Services
from bot.services.file_ids import FileIds
from bot.text import split_message

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
TOAST_LIMIT = 200  # answerCallbackQuery text
MEDIA_GROUP_MAX = 10
PHOTO_PREFIX = "tg:"
# Kept-alive connections for replies. httpcore scans every pooled connection on each request,
# so PTB's default of 256 cost more CPU than the engine itself under load
# (bench/conversation.py); replies are capped at 30/s, which a few connections carry.
REPLY_CONNECTIONS = 16
POOL_TIMEOUT = 30.0  # seconds a reply may wait for a free connection in a burst
# PTB nudges do_api_request callers towards the typed method; _send_text and _redraw skip it
# on purpose.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(sendMessage|editMessageText|editMessageCaption)'",
    category=PTBUserWarning,
)


def to_incoming(update: Update) -> Incoming | None:
    """The channel-neutral view of a Telegram update (None for updates we do not handle)."""
    event_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        return Incoming(
            CHANNEL,
            f"{CHANNEL}:{query.from_user.id}",
            "button",
            payload=query.data or "",
            display_name=query.from_user.full_name,
            event_id=event_id,
        )
    message = update.message
    if message is None or message.from_user is None or message.chat.type != "private":
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_key": f"{CHANNEL}:{message.from_user.id}",
        "display_name": message.from_user.full_name,
        "event_id": event_id,
    }
    if message.text is not None:
        command = parse_command(message.text)
        if command:
            return Incoming(
                kind="command", text=message.text, command=command[0], args=command[1], **base
            )
        return Incoming(kind="text", text=message.text, **base)
    if message.contact is not None:
        own = message.contact.user_id == message.from_user.id
        return Incoming(kind="contact", phone=message.contact.phone_number if own else "", **base)
    if message.location is not None:
        loc = message.location
        return Incoming(kind="location", latitude=loc.latitude, longitude=loc.longitude, **base)
    if message.photo:
        best = max(message.photo, key=lambda p: p.width * p.height)
        return Incoming(
            kind="photo", photo=PHOTO_PREFIX + best.file_id, text=message.caption or "", **base
        )
    if message.voice is not None or message.audio is not None:
        voice = message.voice or message.audio
        return Incoming(kind="voice", photo=PHOTO_PREFIX + voice.file_id if voice else "", **base)
    if message.sticker is not None:
        return Incoming(kind="sticker", **base)
    return Incoming(kind="other", text=message.caption or "", **base)


def _markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(b.label[:120], url=b.url)
                    if b.url
                    else InlineKeyboardButton(b.label[:120], callback_data=b.payload)
                    for b in row
                ]
                for row in reply.buttons
            ]
        )
    if reply.request_contact:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(reply.request_contact, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.request_location:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(reply.request_location, request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    return None


def coalesce(replies: list[Reply]) -> list[Reply]:
    """Fold a bare text reply into the next one ("Saved." + the next question): fewer
    messages on a weak 3G line, fewer calls against the rate limit."""
    out: list[Reply] = []
    for reply in replies:
        prev = out[-1] if out else None
        bare = prev is not None and not (
            prev.buttons
            or prev.photos
            or prev.document
            or prev.request_contact
            or prev.request_location
            or prev.edit_key
            or prev.audio
        )
        fits = prev is not None and len(prev.text) + 2 + len(reply.text) <= TEXT_LIMIT
        if (
            prev is not None
            and bare
            and fits
            and not (reply.photos or reply.document or reply.edit_key)
        ):
            out[-1] = replace(reply, text=f"{prev.text}\n\n{reply.text}")
        else:
            out.append(reply)
    return out


async def _answer(query: CallbackQuery | None, toast: str) -> None:
    """Answer a button press (stops the spinner), with a short toast when there is one."""
    if query is None:
        return
    try:
        await query.answer(toast[:TOAST_LIMIT] or None)
    except TelegramError:
        log.info("callback query %s could not be answered", query.id)


class TelegramChannel:
    """One bot account on Telegram, feeding the engine."""

    def __init__(self, settings: Settings, engine: Engine[Services]) -> None:
        self.settings = settings
        self.engine = engine
        self.media_dir = settings.media_dir
        outbox = engine.services.outbox
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_token)
            .base_url(settings.telegram_api_base_url)
            .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot"))
            .rate_limiter(ReplyRateLimiter(outbox.pacer, outbox.budget(CHANNEL)))
            .concurrent_updates(64)
            .connection_pool_size(REPLY_CONNECTIONS)
            .pool_timeout(POOL_TIMEOUT)
        )
        if settings.telegram_webhook_url:
            builder = builder.updater(None)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
        self._keyboard_open: set[int] = set()
        self._edits: dict[tuple[int, str], int] = {}
        self.file_ids = FileIds(engine.services.store, self.media_dir)
        self.handled = (
            0  # updates finished, replies sent or not (tests wait on it; a health figure)
        )
        engine.services.notifier.register(CHANNEL, self.send)
        engine.services.media.register(PHOTO_PREFIX, self.download)
        engine.services.outbox.register(CHANNEL, TelegramDirect(settings, self._photo))

    async def start(self) -> None:
        """Connect to the Bot API and start receiving updates."""
        await self.app.initialize()
        # Deep links name the bot (t.me/<username>?start=...): getMe, asked by initialize().
        self.engine.services.links.telegram_username = self.app.bot.username or ""
        await self.app.start()
        await self._set_commands()
        if self.settings.telegram_webhook_url:
            await self.app.bot.set_webhook(
                self.settings.telegram_webhook_url,
                secret_token=self.settings.telegram_webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        elif not self.engine.services.store.shared:
            await self.start_polling()

    async def start_polling(self) -> None:
        """Receive updates by long polling (one process at a time: the app leases it)."""
        if self.app.updater is not None and not self.app.updater.running:
            await self.app.updater.start_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0)

    async def stop_polling(self) -> None:
        """Stop long polling (another process took the lease over)."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()

    @property
    def polls(self) -> bool:
        """Whether updates come by long polling (no webhook configured)."""
        return not self.settings.telegram_webhook_url

    async def stop(self) -> None:
        """Stop receiving and let in-flight updates finish."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def feed_webhook(self, data: dict[str, Any]) -> None:
        """Queue an update that arrived on our webhook."""
        update = Update.de_json(data, self.app.bot)
        await self.app.update_queue.put(update)

    async def download(self, file_id: str) -> bytes:
        """The bytes of a file a user sent (a listing photo shown on the public page)."""
        file = await self.app.bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())

    async def _set_commands(self) -> None:
        for lang in ("vi", "en"):
            with use_locale(lang):
                # ASCII names (Telegram allows only a-z, 0-9, _), the main entries first.
                commands = [
                    BotCommand("menu", _("Main menu")),
                    BotCommand("dangban", _("Put a product on sale")),
                    BotCommand("tindang", _("My listings")),
                    BotCommand("mua", _("Buy products")),
                    BotCommand("donhang", _("Orders of my products")),
                    BotCommand("donmua", _("My orders as a buyer")),
                    BotCommand("hoidap", _("Ask a question")),
                    BotCommand("hoc", _("Learn digital skills")),
                    BotCommand("hoso", _("My profile")),
                    BotCommand("ngonngu", _("Change language")),
                    BotCommand("huy", _("Cancel what you are doing")),
                    # Every command a Vietnamese user sees is Vietnamese; /help still works.
                    BotCommand("trogiup" if lang == "vi" else "help", _("What the bot can do")),
                ]
            try:
                await self.app.bot.set_my_commands(
                    commands, language_code=None if lang == "vi" else lang
                )
            except TelegramError:
                log.warning("could not set the bot's command list", exc_info=True)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand one update to the engine and send its replies."""
        try:
            await self._handle_update(update)
        finally:
            self.handled += 1

    async def _handle_update(self, update: Update) -> None:
        if self.engine.already_handled(CHANNEL, str(update.update_id)):
            return  # redelivered after a crash: answered and handled the first time
        query = update.callback_query
        incoming = to_incoming(update)
        if incoming is None:
            await _answer(query, "")
            return
        chat_id = int(incoming.user_key.split(":", 1)[1])
        if incoming.kind == "contact":
            self._keyboard_open.discard(chat_id)
            self._keyboard_open.add(-chat_id)  # remove the share-contact keyboard next time
        replies = await self.engine.handle(incoming)
        await _answer(query, next((r.toast for r in replies if r.toast), ""))
        pressed = query.message if query is not None else None
        if isinstance(pressed, Message) and await self._redraw(chat_id, pressed, replies):
            return
        await self.send(str(chat_id), replies)

    async def _redraw(self, chat: int, pressed: Message, replies: list[Reply]) -> bool:
        """Edit the message a button was pressed on into the redrawn question, if it can be.

        The message comes with the button press itself, so this works for any message of the
        chat, however old, and after any restart (no id kept in memory).
        """
        replies = coalesce(replies)
        if len(replies) != 1 or not replies[0].redraw:
            return False
        reply = replies[0]
        if reply.request_contact or reply.request_location or reply.document:
            return False
        markup = _markup(reply)  # buttons or none: the keyboards were excluded above
        where: dict[str, Any] = {
            "chat_id": chat,
            "message_id": pressed.message_id,
            "parse_mode": ParseMode.HTML,
            "reply_markup": markup if isinstance(markup, InlineKeyboardMarkup) else None,
        }
        bot = self.app.bot
        if pressed.text is not None and not reply.photos and len(reply.text) <= TEXT_LIMIT:
            edit = bot.edit_message_text(reply.text, **where)
        elif pressed.photo and reply.photos and len(reply.text) <= CAPTION_LIMIT:
            edit = bot.edit_message_caption(caption=reply.text, **where)
        else:
            return False
        try:
            await edit
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True  # a double tap: the screen already shows this
            log.info(
                "could not edit message %s in place (%s); sending it", pressed.message_id, exc
            )
            return False
        return True

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a Telegram update", exc_info=context.error)

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Deliver replies to a chat, within the Bot API's limits."""
        chat = int(chat_id)
        try:
            for reply in coalesce(replies):
                await self._send_one(chat, reply)
        except Forbidden:
            self._mark_blocked(chat)
            raise

    async def _send_one(self, chat: int, reply: Reply) -> None:
        bot = self.app.bot
        markup = _markup(reply)
        if reply.request_contact or reply.request_location:
            self._keyboard_open.add(chat)
        elif markup is None and (chat in self._keyboard_open or -chat in self._keyboard_open):
            self._keyboard_open.discard(chat)
            self._keyboard_open.discard(-chat)
            markup = ReplyKeyboardRemove()  # type: ignore[assignment]
        if reply.document is not None:
            name, content = reply.document
            await bot.send_document(
                chat,
                InputFile(content, filename=name),
                caption=reply.text[:CAPTION_LIMIT] or None,
                parse_mode=ParseMode.HTML,
            )
            return
        text = reply.text
        if reply.audio:
            text = await self._send_audio(chat, reply, markup)
            if not text:
                return  # the text went as the voice note's caption
        if reply.photos:
            refs = reply.photos[:MEDIA_GROUP_MAX]
            keys = [self.file_ids.key(r) if not r.startswith(PHOTO_PREFIX) else "" for r in refs]
            photos = [
                self.file_ids.get(k) or self._photo(r) for r, k in zip(refs, keys, strict=True)
            ]
            sent: list[Message]
            if len(photos) == 1 and len(text) <= CAPTION_LIMIT:
                sent = [
                    await bot.send_photo(
                        chat,
                        photos[0],
                        caption=text or None,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                    )
                ]
            elif len(photos) == 1:
                sent = [await bot.send_photo(chat, photos[0])]
            else:
                group = await bot.send_media_group(chat, [InputMediaPhoto(p) for p in photos])
                sent = list(group)
            for key, message in zip(keys, sent, strict=False):
                if key and message.photo:  # sent once; by file_id from now on, restarts too
                    self.file_ids.put(key, message.photo[-1].file_id)
            if len(photos) == 1 and len(text) <= CAPTION_LIMIT:
                return
        if not text.strip():
            return
        if reply.edit_key:
            await self._send_or_edit(chat, reply, markup)
            return
        chunks = split_message(text, TEXT_LIMIT)
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            await self._send_text(chat, chunk, markup if last else None)

    async def _send_audio(self, chat: int, reply: Reply, markup: Any) -> str:
        """Send a voice note: by file_id when it came from Telegram, else as a file or URL.

        Returns the text still to send ("" when it went as the caption); if the audio cannot
        be sent at all, the text gains the link that plays it in a browser.
        """
        bot, ref = self.app.bot, reply.audio
        fits = len(reply.text) <= CAPTION_LIMIT
        extra: dict[str, Any] = (
            {"caption": reply.text, "parse_mode": ParseMode.HTML} if fits else {}
        )
        if fits and markup is not None:
            extra["reply_markup"] = markup
        try:
            if ref.startswith(PHOTO_PREFIX):
                try:
                    await bot.send_voice(chat, ref[len(PHOTO_PREFIX) :], **extra)
                except BadRequest:  # a music file's id (sent as audio, not a voice note)
                    await bot.send_audio(chat, ref[len(PHOTO_PREFIX) :], **extra)
            else:
                data = self._photo(ref)  # our file's bytes, or another app's URL
                if isinstance(data, bytes) and data.startswith(b"OggS"):
                    await bot.send_voice(chat, InputFile(data, filename="voice.ogg"), **extra)
                elif isinstance(data, bytes) and data[4:8] == b"ftyp":
                    await bot.send_audio(chat, InputFile(data, filename="voice.m4a"), **extra)
                elif isinstance(data, bytes):  # WebM from a browser: a file to open
                    await bot.send_document(chat, InputFile(data, filename="voice.webm"), **extra)
                else:
                    await bot.send_audio(chat, data, **extra)
        except (BadRequest, OSError) as exc:
            log.warning("could not send voice note %s (%s); sending its link", ref[:40], exc)
            link = f"\n🎧 {esc(reply.audio_link)}" if reply.audio_link else ""
            return reply.text + link
        return "" if fits else reply.text

    async def _send_text(self, chat: int, text: str, markup: Any) -> int:
        """sendMessage, returning the new message's id.

        Through `do_api_request` without a return type: PTB would otherwise rebuild the whole
        sent Message, keyboard included, as objects nobody reads; that was a tenth of the
        bot's CPU per update in bench/conversation.py.
        """
        params: dict[str, Any] = {"chat_id": chat, "text": text, "parse_mode": ParseMode.HTML}
        if markup is not None:
            params["reply_markup"] = markup
        sent = await self.app.bot.do_api_request("sendMessage", params)
        return int(sent["message_id"])

    async def _send_or_edit(self, chat: int, reply: Reply, markup: Any) -> None:
        key = (chat, reply.edit_key)
        message_id = self._edits.get(key)
        text = reply.text[:TEXT_LIMIT]
        if message_id is not None:
            try:
                await self.app.bot.edit_message_text(
                    text, chat, message_id, parse_mode=ParseMode.HTML, reply_markup=markup
                )
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
        self._edits[key] = await self._send_text(chat, text, markup)

    def _photo(self, ref: str) -> Any:
        if ref.startswith(PHOTO_PREFIX):
            return ref[len(PHOTO_PREFIX) :]
        if ref.startswith("media:"):
            return (self.media_dir / ref.removeprefix("media:")).read_bytes()
        return ref

    def _mark_blocked(self, chat: int) -> None:
        users = self.engine.services.users
        user = users.by_key(f"{CHANNEL}:{chat}")
        if user is not None and not user.blocked:
            user.blocked = True
            users.save(user)
            log.info("user %s blocked the bot on Telegram", user.id)
