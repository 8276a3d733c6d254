"""The fake Telegram server works with real python-telegram-bot 22 and holds it to the rules."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from tests.fakes import FakeTelegram
from tests.fakes.ptb import polling
from tests.fakes.user_side import TINY_PNG
from tests.helpers.waiting import wait_until

USER = 4242
BLNS = Path(__file__).parent / "data" / "blns.json"

AnyApp = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fake that also checks every object it returns against the spec."""
    async with FakeTelegram(self_check=True) as server:
        yield server
    assert server.fake_errors == []


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A plain PTB Bot talking to the fake (no polling)."""
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


def echo_app(fake: FakeTelegram, seen: list[int] | None = None) -> AnyApp:
    """Build an echo bot: replies to text with a button, answers and edits on a press."""

    async def on_text(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Echo the text back with a yes/no keyboard."""
        assert update.message is not None and update.message.text is not None
        if seen is not None:
            seen.append(update.update_id)
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Có", callback_data="yes")],
                [InlineKeyboardButton("Không", callback_data="no")],
            ]
        )
        await update.message.reply_text(
            f"<b>Bạn nói:</b> {html.escape(update.message.text)}",
            parse_mode="HTML",
            reply_markup=keyboard,
        )

    async def on_press(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer the press and replace the keyboard message."""
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Đã chọn: {query.data}")

    app = fake.app_builder().build()
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_press))
    return app


async def test_text_gets_a_reply_with_buttons(fake: FakeTelegram) -> None:
    async with polling(echo_app(fake)):
        fake.send_text(USER, "Giá <lúa> hôm nay & mai?")
        [reply] = await fake.wait_for(USER)
    assert reply["text"] == "Bạn nói: Giá <lúa> hôm nay & mai?"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 8}]
    assert fake.buttons(reply) == [("Có", "yes"), ("Không", "no")]
    assert [name for name, _ in fake.calls][:2] == ["getMe", "deleteWebhook"]
    assert fake.violations == []


async def test_button_press_is_answered_and_edit_applied(fake: FakeTelegram) -> None:
    async with polling(echo_app(fake)):
        fake.send_text(USER, "chào")
        await fake.wait_for(USER)
        fake.send_callback(USER, "no")
        await wait_until(lambda: fake.answered_callback_ids != set(), "the press to be answered")
    assert fake.unanswered_callbacks() == []
    assert len(fake.answered_callback_ids) == 1
    [message] = fake.messages_to(USER)
    assert message["text"] == "Đã chọn: no"
    assert "reply_markup" not in message  # editMessageText without markup drops the keyboard
    assert fake.violations == []


async def test_pressing_a_button_that_is_not_shown_fails_the_test(fake: FakeTelegram) -> None:
    async with polling(echo_app(fake)):
        fake.send_text(USER, "chào")
        await fake.wait_for(USER)
        with pytest.raises(AssertionError, match="has no button 'maybe'"):
            fake.send_callback(USER, "maybe")


async def test_redelivered_update_reaches_the_bot_twice(fake: FakeTelegram) -> None:
    seen: list[int] = []
    async with polling(echo_app(fake, seen)):
        update_id = fake.send_text(USER, "một lần")
        await fake.wait_for(USER)
        fake.redeliver(update_id)
        await fake.wait_for(USER)
    assert seen == [update_id, update_id]


async def test_wait_for_timeout_shows_the_chat(fake: FakeTelegram) -> None:
    fake.send_text(USER, "có ai không")
    with pytest.raises(AssertionError, match="user: có ai không"):
        await fake.wait_for(USER, timeout=0.1)


async def test_unescaped_html_is_rejected_and_recorded(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag"):
        await bot.send_message(USER, "Giá < 5.000đ", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "Lúa & ngô", parse_mode="HTML")
    assert len(fake.violations) == 2
    assert fake.violations[0].startswith("sendMessage: Bad Request: can't parse entities")
    assert fake.messages_to(USER) == []


async def test_text_limits_count_characters_after_entity_parsing(
    fake: FakeTelegram, bot: Bot
) -> None:
    await bot.send_message(USER, "<b>" + "ạ" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(USER, TINY_PNG, caption="c" * 1025)
    assert fake.violations == [
        "sendMessage: Bad Request: message is too long",
        "sendMessage: Bad Request: message text is empty",
        "sendPhoto: Bad Request: message caption is too long",
    ]


async def test_callback_data_is_limited_in_bytes_not_characters(
    fake: FakeTelegram, bot: Bot
) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("Chọn", callback_data=data)]])

    await bot.send_message(USER, "ok", reply_markup=keyboard("x" * 64))
    await bot.send_message(USER, "ok", reply_markup=keyboard("ồ" * 21))  # 63 bytes
    for data in ("x" * 65, "ồ" * 22, "đ" * 33):  # 22 characters but 66 bytes; 66 bytes
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(USER, "ok", reply_markup=keyboard(data))
    assert len(fake.messages_to(USER)) == 2
    assert fake.violations == ["sendMessage: Bad Request: BUTTON_DATA_INVALID"] * 3


async def test_injected_429_raises_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
        await bot.send_message(USER, "một")
    await bot.send_message(USER, "hai")  # only the next call fails
    assert [m["text"] for m in fake.messages_to(USER)] == ["hai"]
    assert fake.violations == []


async def test_blocked_chat_raises_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block_chat(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "tin mới")
    await bot.send_message(USER + 1, "tin mới")
    assert fake.violations == []


async def test_rate_limit_answers_429_per_chat(fake: FakeTelegram, bot: Bot) -> None:
    fake.limit_rate(per_second=30, per_chat_per_second=1)
    await bot.send_message(USER, "một")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "hai")
    await bot.send_message(USER + 1, "khác")
    assert fake.throttled == 1


async def test_edit_that_changes_nothing_is_rejected(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Giống nhau")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Giống nhau", chat_id=USER, message_id=sent.message_id)
    await bot.edit_message_text("Khác", chat_id=USER, message_id=sent.message_id)
    await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    assert fake.messages_to(USER) == []
    assert len(fake.violations) == 2


async def test_photos_documents_and_albums_upload_and_download(
    fake: FakeTelegram, bot: Bot
) -> None:
    photo = await bot.send_photo(USER, TINY_PNG, caption="<i>Lúa</i>", parse_mode="HTML")
    document = await bot.send_document(USER, b"a,b\n1,2\n", filename="gia.csv")
    album = await bot.send_media_group(
        USER, [InputMediaPhoto(TINY_PNG), InputMediaPhoto(photo.photo[-1].file_id)]
    )
    assert photo.caption == "Lúa" and photo.caption_entities[0].type == "italic"
    assert document.document is not None and document.document.file_name == "gia.csv"
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"a,b\n1,2\n"
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")
    assert len(fake.messages_to(USER)) == 4


async def test_user_photo_can_be_downloaded_by_the_bot(fake: FakeTelegram) -> None:
    received: list[bytes] = []

    async def on_photo(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Download the largest size of a user's photo."""
        assert update.message is not None
        file = await update.message.photo[-1].get_file()
        received.append(bytes(await file.download_as_bytearray()))

    app = fake.app_builder().build()
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    async with polling(app):
        fake.send_photo(USER, caption="lá bị vàng")
        await wait_until(lambda: bool(received), "the bot to download the photo")
    assert received == [TINY_PNG]


async def test_reply_keyboard_and_shared_contact(fake: FakeTelegram) -> None:
    contacts: list[str] = []

    async def on_start(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Ask for the phone number with a share-contact button."""
        assert update.message is not None
        button = KeyboardButton("Gửi số điện thoại", request_contact=True)
        markup = ReplyKeyboardMarkup([[button]], one_time_keyboard=True)
        await update.message.reply_text("Cho xin số điện thoại", reply_markup=markup)

    async def on_contact(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Remember the shared number."""
        assert update.message is not None and update.message.contact is not None
        contacts.append(update.message.contact.phone_number)

    app = fake.app_builder().build()
    app.add_handler(MessageHandler(filters.COMMAND, on_start))
    app.add_handler(MessageHandler(filters.CONTACT, on_contact))
    async with polling(app):
        fake.send_text(USER, "/start")
        [ask] = await fake.wait_for(USER)
        fake.send_contact(USER, "+84912345678")
        await wait_until(lambda: bool(contacts), "the bot to read the shared contact")
    assert ask["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert contacts == ["+84912345678"]
    assert fake.violations == []


async def test_commands_chat_and_actions(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu"), ("gia", "Giá nông sản")])
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Start", "Viết hoa")])
    await bot.send_chat_action(USER, "typing")
    fake.send_text(USER, "xin chào", first_name="Hoa", username="hoa_ls")
    chat = await bot.get_chat(USER)
    assert chat.first_name == "Hoa" and chat.username == "hoa_ls"
    assert [c["command"] for c in await bot.get_my_commands()] == ["start", "gia"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert len(fake.violations) == 1


async def test_unknown_parameter_is_a_violation_but_works(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(USER, "xin chào", api_kwargs={"disable_web_page_preview": True})
    assert fake.violations == ["sendMessage: unknown parameter 'disable_web_page_preview'"]


async def test_webhook_rules_and_delivery(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://example.org/tg")
    await bot.set_webhook("https://example.org/tg", secret_token="s3cret-Token_1")
    assert fake.webhook["secret_token"] == "s3cret-Token_1"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()

    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        """Accept updates carrying the right secret, like a bot's webhook route."""
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "s3cret-Token_1":
            return web.Response(status=403)
        received.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/tg", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    try:
        update = fake.build.text(USER, "qua webhook")
        assert await fake.post_webhook(url, update, "s3cret-Token_1") == 200
        assert await fake.post_webhook(url, update, "wrong") == 403
    finally:
        await runner.cleanup()
    assert received[0]["message"]["text"] == "qua webhook" and "update_id" in received[0]
    with pytest.raises(ValueError, match="loopback"):
        await fake.post_webhook("https://example.org/tg", update, None)


async def test_naughty_strings_round_trip_through_html(fake: FakeTelegram, bot: Bot) -> None:
    strings = [s for s in json.loads(BLNS.read_text(encoding="utf-8")) if s.strip()]
    for text in strings[:: max(1, len(strings) // 120)]:
        sent = await bot.send_message(USER, html.escape(text), parse_mode="HTML")
        assert sent.text == text
    assert fake.violations == []


async def test_user_media_updates_parse_in_ptb(fake: FakeTelegram) -> None:
    kinds: list[str] = []

    async def on_any(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Record what kind of content arrived."""
        message = update.message
        assert message is not None
        if message.sticker:
            kinds.append(f"sticker {message.sticker.emoji}")
        elif message.voice:
            kinds.append(f"voice {message.voice.mime_type}")
        elif message.location:
            kinds.append(f"location {message.location.latitude:.2f}")
        elif message.document:
            kinds.append(f"document {message.document.file_name}")

    app = fake.app_builder().build()
    app.add_handler(MessageHandler(filters.ALL, on_any))
    async with polling(app):
        fake.send_sticker(USER)
        fake.send_voice(USER, duration=4)
        fake.send_location(USER, 21.85, 106.76)
        fake.send_document(USER, file_name="so-tay.pdf")
        await wait_until(lambda: len(kinds) == 4, "the bot to see all four media updates")
    assert kinds == ["sticker 👍", "voice audio/ogg", "location 21.85", "document so-tay.pdf"]


async def test_global_rate_limit_and_webhook_info(fake: FakeTelegram, bot: Bot) -> None:
    fake.limit_rate(per_second=2)
    await bot.send_message(USER, "1")
    await bot.send_message(USER + 1, "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER + 2, "3")
    await bot.send_chat_action(USER, "typing")  # chat actions are not messages
    assert fake.throttled == 1
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0
