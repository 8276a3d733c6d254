"""Broadcasts end to end on python-telegram-bot against the fake Bot API: flood limits (429),
blocked users (403), the opt-out button, progress edited in place, and a restart mid-way."""

from __future__ import annotations

from collections import Counter

from bot.app import BotApp
from bot.services.broadcast import Audience
from bot.services.users import FARMER, TEAM
from tests.broadcast_helpers import finished, until
from tests.helpers.msgids import pattern, said
from tests.helpers.telegram import TelegramBot, payloads, texts

AUTHOR = 5001
FIRST = 6001


async def onboard_team(tg: TelegramBot) -> BotApp:
    """Register the author over Telegram and make them the team of Chi Lăng."""
    await tg.onboard(AUTHOR, name="Mai", phone="+84912340001", role="buyer")
    app = tg.app
    assert app is not None
    user = app.services.users.by_key(f"telegram:{AUTHOR}")
    assert user is not None
    user.roles, user.team_areas = [TEAM], ["chi-lang"]
    app.services.users.save(user)
    return app


def seed(app: BotApp, count: int) -> list[int]:
    """Telegram farmers of Chi Lăng who agreed to notices; their chat ids."""
    users = app.services.users
    ids = list(range(FIRST, FIRST + count))
    for chat in ids:
        user = users.create(f"telegram:{chat}", f"Nông dân {chat}", "2026-11-26T08:00:00+00:00")
        user.registered, user.area, user.role, user.consent = True, "chi-lang", FARMER, True
        users.save(user)
    return ids


def start_outbox(app: BotApp, rate: float) -> None:
    outbox = app.services.outbox
    outbox.pacer.rate = rate
    outbox.progress_every = 0.2
    app.start_jobs()


async def compose_until_preview(tg: TelegramBot, text: str) -> str:
    await tg.text(AUTHOR, "/thongbao")
    await tg.text(AUTHOR, text)
    await tg.tap(AUTHOR, "nophoto")
    preview = await tg.tap(AUTHOR, "aud:go")
    return texts(preview)


AUDIENCE = "Above is exactly what they will see. It goes to <b>{count}</b> people in {areas}."


def broadcast_messages(tg: TelegramBot, chat: int) -> list[dict[str, object]]:
    return [m for m in tg.fake.messages_to(chat) if "Tổ công nghệ số" in str(m.get("text", ""))]


async def test_429s_and_a_blocked_user_over_telegram(tg: TelegramBot) -> None:
    app = await onboard_team(tg)
    chats = seed(app, 12)
    tg.fake.limit_rate(8)  # the fake answers 429 beyond 8 messages a second
    tg.fake.block_chat(chats[3])
    start_outbox(app, rate=20)  # faster than the fake allows: it must honour retry_after
    preview = await compose_until_preview(tg, "Tập huấn <livestream> & bán hàng")
    assert said(preview, AUDIENCE, count=12) and "&lt;livestream&gt;" not in preview  # as text
    assert "Tập huấn <livestream> & bán hàng" in preview
    tg.fake.send_callback(AUTHOR, "pv:send")
    await finished(app, 1)
    await tg.settle()
    assert tg.fake.throttled > 0
    for chat in chats:
        expected = 0 if chat == chats[3] else 1
        assert len(broadcast_messages(tg, chat)) == expected, tg.fake.chat_log(chat)
    blocked = app.services.users.by_key(f"telegram:{chats[3]}")
    assert blocked is not None and blocked.blocked
    author_log = texts(tg.fake.messages_to(AUTHOR))
    progress = pattern("Broadcast #{id}: sent {done} of {total}", id=1)
    assert len(progress.findall(author_log)) == 1  # one message, edited in place
    assert said(author_log, "Broadcast #{id}: sent {done} of {total}", id=1, done=12, total=12)
    assert said(author_log, "Delivered: {n}", n=11) and said(
        author_log, "Blocked the bot: {n}", n=1
    )
    message = broadcast_messages(tg, chats[0])[0]
    assert payloads([message]) == ["bc:off"]
    reply = await tg.tap(chats[0], "bc:off")
    assert said(
        texts(reply),
        "Done: you will not receive notices from the digital-tech team any more. To get them again: /batthongbao",
    )
    user = app.services.users.by_key(f"telegram:{chats[0]}")
    assert user is not None and not user.consent


async def test_a_restart_mid_broadcast_sends_nobody_twice_over_telegram(tg: TelegramBot) -> None:
    app = await onboard_team(tg)
    chats = seed(app, 40)
    start_outbox(app, rate=25)
    await compose_until_preview(tg, "Lịch tiêm phòng cho đàn gà")
    tg.fake.send_callback(AUTHOR, "pv:send")
    await until(lambda: sum(len(broadcast_messages(tg, c)) for c in chats) >= 10)
    app = await tg.restart()
    start_outbox(app, rate=200)
    await finished(app, 1)
    await tg.settle()
    got = Counter({c: len(broadcast_messages(tg, c)) for c in chats})
    assert set(got.values()) == {1}, got
    assert said(texts(tg.fake.messages_to(AUTHOR)), "Delivered: {n}", n=40)


async def test_two_broadcasts_back_to_back_keep_one_message_a_second_per_chat(
    tg: TelegramBot,
) -> None:
    app = await onboard_team(tg)
    seed(app, 3)
    tg.fake.limit_rate(100, per_chat_per_second=1)
    author = app.services.users.by_key(f"telegram:{AUTHOR}")
    assert author is not None
    now = app.services.clock.now()
    for n, text in enumerate(("Tin thứ nhất", "Tin thứ hai")):
        audience = Audience(areas=["chi-lang"])
        made = app.services.broadcasts.create(author, text, "", audience, now, now, f"form{n}")
        app.services.outbox.start(made, now)
    start_outbox(app, rate=100)
    await finished(app, 2)
    await tg.settle()
    recipients = range(FIRST, FIRST + 3)
    attempts = [p["chat_id"] for m, p in tg.fake.calls if m == "sendMessage"]
    assert [attempts.count(c) for c in recipients] == [2, 2, 2]  # no send was refused (429)
    assert [len(broadcast_messages(tg, c)) for c in recipients] == [2, 2, 2]


async def test_a_notice_with_a_photo_reaches_recipients_as_one_captioned_photo(
    tg: TelegramBot,
) -> None:
    app = await onboard_team(tg)
    chats = seed(app, 2)
    start_outbox(app, rate=50)
    await tg.text(AUTHOR, "/thongbao")
    tg.fake.send_photo(AUTHOR, caption="Ảnh mẫu chụp na đẹp <3")
    await tg.settle()
    preview = await tg.tap(AUTHOR, "aud:go")
    assert any(m.get("photo") for m in preview)
    tg.fake.send_callback(AUTHOR, "pv:send")
    await finished(app, 1)
    await tg.settle()
    for chat in chats:
        got = tg.fake.messages_to(chat)
        assert len(got) == 1 and got[0].get("photo"), tg.fake.chat_log(chat)
        assert "Ảnh mẫu chụp na đẹp <3" in str(got[0].get("caption"))
        assert payloads(got) == ["bc:off"]
