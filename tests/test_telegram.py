"""The bot on real python-telegram-bot against a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.clock import FakeClock
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers.msgids import ASK_AREA, ASK_HOW_TO_CALL, ASK_PHONE_SHARED, MAIN_MENU, said
from tests.helpers.telegram import TelegramBot, payloads, texts

BLNS: list[str] = json.loads((Path(__file__).parent / "data" / "blns.json").read_text())
LAN = 5001


async def test_whole_onboarding_with_buttons(tg: TelegramBot) -> None:
    greeting = await tg.text(LAN, "/start", first_name="Lan")
    assert "Nông Dân Số" in texts(greeting)
    assert "name:keep" in payloads(greeting)
    ask_address = await tg.tap(LAN, "name:keep")
    assert said(texts(ask_address), ASK_HOW_TO_CALL, name="Lan")
    assert "addr:co" in payloads(ask_address)
    ask_phone = await tg.tap(LAN, "addr:co")
    assert said(texts(ask_phone), ASK_PHONE_SHARED)
    assert "Số điện thoại của cô" in texts(ask_phone)  # the address form she chose, in place
    keyboard = ask_phone[-1]["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True
    ask_area = await tg.contact(LAN, "+84912345678")
    assert ask_area[-1]["reply_markup"] == {"remove_keyboard": True}  # contact keyboard gone
    await tg.text(LAN, "x. Chi Lăng")
    await tg.tap(LAN, "farmer")
    await tg.tap(LAN, "crop:na-chi-lang")
    await tg.tap(LAN, "crop:done")
    done = await tg.tap(LAN, "consent:yes")
    assert said(texts(done), MAIN_MENU)
    assert tg.fake.unanswered_callbacks() == []
    assert tg.app is not None
    user = tg.app.services.users.by_key(f"telegram:{LAN}")
    assert user is not None and user.registered and user.phone == "+84912345678"


async def test_typed_numbers_and_plain_words(tg: TelegramBot) -> None:
    await tg.text(LAN, "/start")
    await tg.text(LAN, "Nông Thị Hoa")
    await tg.text(LAN, "1")  # the first choice: chị, suggested by "Thị"
    await tg.text(LAN, "0912345678")
    await tg.text(LAN, "chi lang")
    await tg.text(LAN, "2")  # buyer, by its number
    reply = await tg.text(LAN, "co")  # "có" without diacritics
    assert said(texts(reply), MAIN_MENU, You_name="Chị Hoa")  # "chị", suggested by "Thị"


async def test_someone_elses_contact_is_refused(tg: TelegramBot) -> None:
    await tg.text(LAN, "/start")
    await tg.text(LAN, "Lan")
    await tg.tap(LAN, "addr:chi")
    reply = await tg.contact(LAN, "+84987654321", own=False)
    assert said(texts(reply), "Please share your own phone number, not someone else's.")


async def test_restart_mid_form(tg: TelegramBot) -> None:
    await tg.text(LAN, "/start")
    await tg.text(LAN, "Lan")
    await tg.tap(LAN, "addr:chi")
    await tg.restart()
    reply = await tg.text(LAN, "0912345678")
    assert said(texts(reply), ASK_AREA), texts(reply)


async def test_duplicated_update_is_handled_once(tg: TelegramBot) -> None:
    await tg.text(LAN, "/start")
    update_id = tg.fake.send_text(LAN, "Lan")
    await tg.settle()
    first = tg.new_messages(LAN)
    assert said(texts(first), ASK_HOW_TO_CALL, name="Lan")
    tg.fake.redeliver(update_id)
    await tg.settle()
    assert tg.new_messages(LAN) == []


async def test_user_text_is_escaped_under_html(tg: TelegramBot) -> None:
    await tg.text(LAN, "/start")
    await tg.text(LAN, 'Na <b>& "ngon"')
    await tg.text(LAN, "anh")
    await tg.text(LAN, "0912345678")
    await tg.text(LAN, "chi lang")
    await tg.text(LAN, "1")
    await tg.tap(LAN, "crop:done")
    await tg.text(LAN, "Lê <Thị> & Co")  # typed as a crop name
    await tg.tap(LAN, "crop:done")
    reply = await tg.tap(LAN, "consent:yes")
    assert 'Anh "ngon"' in texts(reply)  # the given name, safe: tags and & dropped
    assert 'Na <b>& "ngon"' not in texts(reply)
    assert tg.fake.violations == []


async def test_every_naughty_string_at_name_and_area(
    fake_telegram: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> None:
    """Each string of the BLNS, typed by its own user at the name and at the area question."""
    tg = TelegramBot(fake_telegram, tmp_path / "blns", clock, telegram_max_rate=10_000)
    app = await tg.start()
    strings = [s for s in BLNS if s.strip()]
    users = [100_000 + i for i in range(len(strings))]
    try:
        for user in users:
            fake_telegram.send_text(user, "/start")
        await tg.settle(180)
        for question in ("name", "area"):
            for user in users:
                tg.new_messages(user)
            for user, naughty in zip(users, strings, strict=True):
                fake_telegram.send_text(user, naughty)
            await tg.settle(180)
            for user, naughty in zip(users, strings, strict=True):
                assert tg.new_messages(user), f"no reply at the {question} question to {naughty!r}"
            assert fake_telegram.violations == []
            for user in users:  # put everyone at the area question
                found = app.services.users.by_key(f"telegram:{user}")
                assert found is not None
                found.name, found.phone, found.area = "Lan", "+84912345678", ""
                app.services.users.save(found)
                conv = app.services.conversations.get(found.id)
                conv.flow, conv.state = "onboarding", "area"
                app.services.conversations.save(conv)
    finally:
        await tg.stop()


async def test_a_blocked_user_is_marked_and_others_served(tg: TelegramBot) -> None:
    await tg.onboard(LAN)
    tg.fake.block_chat(LAN)
    tg.fake.send_text(LAN, "/menu")
    await tg.settle()
    assert tg.app is not None
    user = tg.app.services.users.by_key(f"telegram:{LAN}")
    assert user is not None and user.blocked
    other = await tg.text(6002, "/start")
    assert "Nông Dân Số" in texts(other)


async def test_retry_after_is_honoured(tg: TelegramBot) -> None:
    await tg.text(LAN, "/start")
    tg.fake.fail_next("sendMessage", error_code=429, retry_after=1)
    tg.fake.clear(LAN)
    tg.fake.send_text(LAN, "Lan")
    reply = await tg.fake.wait_for(LAN, 1, timeout=15)
    assert said(texts(reply), ASK_HOW_TO_CALL, name="Lan")  # delivered after waiting


async def test_webhook_checks_its_secret(fake_telegram, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.server import start
    from tests.helpers.driver import settings_for

    settings = settings_for(
        tmp_path / "wh",
        telegram_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.base_url,
        telegram_webhook_url="https://bot.example.org/webhooks/telegram",
        telegram_webhook_secret="s3cret-s3cret-s3cret",
    )
    app, runner = await start(settings, clock)
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/webhooks/telegram"
        assert fake_telegram.webhook["secret_token"] == "s3cret-s3cret-s3cret"
        update = {
            "message": {
                "message_id": 1,
                "date": 1764400000,
                "chat": {"id": LAN, "type": "private", "first_name": "Lan"},
                "from": {"id": LAN, "is_bot": False, "first_name": "Lan"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }
        }
        assert await fake_telegram.post_webhook(url, update, None) == 401
        assert await fake_telegram.post_webhook(url, update, "wrong-secret-xxxxxx") == 401
        assert fake_telegram.messages_to(LAN) == []  # refused before anything was queued
        assert await fake_telegram.post_webhook(url, update, "s3cret-s3cret-s3cret") == 200
        messages = await fake_telegram.wait_for(LAN, 1)
        assert "Nông Dân Số" in texts(messages)
    finally:
        await app.stop()


async def test_a_telegram_photo_is_fetched_once_for_public_pages(tg: TelegramBot) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + b"na-chi-lang" * 50
    file_id = tg.fake.add_file(picture, name="na.png")
    assert tg.app is not None
    media = tg.app.services.media
    path = await media.local_file(f"tg:{file_id}")
    assert path is not None and path.read_bytes() == picture
    calls = len(tg.fake.calls)
    again = await media.local_file(f"tg:{file_id}")
    assert again == path and len(tg.fake.calls) == calls  # served from the local copy
    assert await media.local_file("tg:NO-SUCH-FILE") is None
    assert tg.fake.violations == ["getFile: Bad Request: invalid file_id"]  # as Telegram says
    tg.fake.violations.clear()
    assert await media.local_file("media:../../etc/passwd") is None


def test_bare_text_replies_fold_into_the_next_message() -> None:
    from bot.channels.telegram import coalesce
    from bot.core.types import Button, Reply

    saved = Reply("Dạ, đã lưu.")
    question = Reply("Bà con bán hay mua?", buttons=[[Button("1. Bán", "farmer")]])
    progress = Reply("Đã gửi 3/10", edit_key="bc1")
    photo = Reply("Na", photos=["tg:P"])
    assert coalesce([saved, question]) == [
        Reply("Dạ, đã lưu.\n\nBà con bán hay mua?", buttons=question.buttons)
    ]
    assert coalesce([question, saved]) == [question, saved]  # a question keeps its buttons last
    assert coalesce([saved, progress]) == [saved, progress]  # an edited message stays alone
    assert coalesce([saved, photo]) == [saved, photo]
    assert coalesce([Reply("x" * 4000), Reply("y" * 200)]) == [Reply("x" * 4000), Reply("y" * 200)]


async def test_command_list_is_vietnamese_for_vietnamese_users(tg: TelegramBot) -> None:
    await tg.text(LAN, "/start")
    commands = tg.fake.world.commands
    vi = [c["command"] for c in commands[('{"type": "default"}', "")]]
    en = [c["command"] for c in commands[('{"type": "default"}', "en")]]
    assert vi[0] == "menu" and {"huy", "trogiup", "ngonngu", "dangban", "hoc"} <= set(vi)
    assert "help" not in vi and "help" in en and "trogiup" not in en
    await tg.text(LAN, "Lan")
    await tg.tap(LAN, "addr:chi")
    reply = await tg.text(LAN, "/trogiup")  # the help, then the question again
    assert "/huy" in texts(reply) and said(texts(reply), ASK_PHONE_SHARED), texts(reply)
