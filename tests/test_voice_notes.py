"""A farmer's voice note reaches the commune's team as audio, and the team answers by voice."""

from __future__ import annotations

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from bot.app import BotApp
from bot.channels.plain import PlainSession
from bot.core.types import Incoming, Reply
from bot.server import build_web_app
from bot.services.handoff import ANSWERED, OPEN
from bot.services.users import TEAM
from bot.web.chat import reply_json
from bot.web.public import audio_type
from tests.helpers.driver import Chat
from tests.helpers.telegram import TelegramBot, payloads, texts
from tests.orders_helpers import Inbox

HUNG = 9301  # team member of Chi Lăng
LAN = 9302  # a farmer in Chi Lăng
OGG = b"OggS\x00\x02" + b"\x00" * 40
ZALO_VOICE = "https://zalo.example/voice/abc.m4a"


async def test_voice_note_to_the_team_and_a_voice_answer_back_on_telegram(
    tg: TelegramBot,
) -> None:
    await tg.onboard(HUNG, name="Hùng", phone="+84912340001")
    assert tg.app is not None
    users = tg.app.services.users
    hung = users.by_key(f"telegram:{HUNG}")
    assert hung is not None
    hung.roles, hung.team_areas = [TEAM], ["chi-lang"]
    users.save(hung)
    await tg.onboard(LAN, name="Lan", phone="+84912340002")

    tg.fake.send_voice(LAN, "LAN-VOICE-1", data=OGG)
    await tg.settle()
    told = texts(tg.new_messages(LAN))
    assert "tổ công nghệ số" in told.lower(), told
    [alert] = tg.new_messages(HUNG)
    assert alert["voice"]["file_id"] == "LAN-VOICE-1"  # the audio itself, by its file_id
    assert "Lan" in alert["caption"] and "tin nhắn thoại" in alert["caption"]
    reply = next(p for p in payloads([alert]) if p.startswith("tm:reply:"))
    asked = await tg.tap(HUNG, reply)
    assert "tin nhắn thoại" in texts(asked)

    tg.fake.send_voice(HUNG, "HUNG-VOICE-1", data=OGG)
    await tg.settle()
    assert "Đã gửi" in texts(tg.new_messages(HUNG))
    [answer] = tg.new_messages(LAN)
    assert answer["voice"]["file_id"] == "HUNG-VOICE-1" and "trả lời" in answer["caption"]
    [handoff] = tg.app.services.handoffs.with_status(ANSWERED)
    assert handoff.media == "tg:LAN-VOICE-1" and handoff.answer_media == "tg:HUNG-VOICE-1"

    # The console (and anyone holding the link) plays both, fetched from Telegram once.
    async with TestClient(TestServer(build_web_app(tg.app, None))) as web:
        for token in (handoff.media_token, handoff.answer_token):
            resp = await web.get(f"/audio/{token}")
            assert resp.status == 200 and resp.headers["Content-Type"] == "audio/ogg"
            assert await resp.read() == OGG
        for bad in ("x" * 20, handoff.media_token[:-2], str(handoff.id)):
            assert (await web.get(f"/audio/{bad}")).status == 404


async def test_zalo_and_web_get_a_link_that_plays_the_voice(app: BotApp) -> None:
    inbox = Inbox(app)
    to_zalo: list[Reply] = []

    async def zalo_send(_chat: str, replies: list[Reply]) -> None:
        to_zalo.extend(replies)

    app.services.notifier.register("zalo_bot", zalo_send)
    team = Chat(app, "web:team", "Hùng")
    await team.onboard(role="farmer", phone="0912340001")
    member = app.services.users.by_key("web:team")
    assert member is not None
    member.roles, member.team_areas = [TEAM], ["chi-lang"]
    app.services.users.save(member)
    farmer = Chat(app, "zalo_bot:farmer", "Lan")
    await farmer.onboard(role="farmer", phone="0912340002")
    await farmer.send(Incoming("zalo_bot", "zalo_bot:farmer", "voice", photo=ZALO_VOICE))
    [handoff] = app.services.handoffs.with_status(OPEN)
    [alert] = inbox.take_replies("web:team")
    assert alert.audio == ZALO_VOICE
    assert alert.audio_link.endswith(f"/audio/{handoff.media_token}")
    assert reply_json(alert)["audio"] == alert.audio_link  # the web chat plays it
    async with TestClient(TestServer(build_web_app(app, None))) as web:
        resp = await web.get(f"/audio/{handoff.media_token}", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == ZALO_VOICE

    await team.tap(f"tm:reply:{handoff.id}")
    await team.send(Incoming("web", "web:team", "voice", photo="media:answer.webm"))
    assert "Đã gửi" in team.text(), team.text()
    [answer] = to_zalo[-1:]
    assert answer.audio == "media:answer.webm"
    [shown] = PlainSession().render([answer])  # Zalo cannot send audio: a link that plays it
    assert f"🎧 {answer.audio_link}" in shown and "/audio/" in shown


def test_audio_types() -> None:
    assert audio_type(OGG) == "audio/ogg"
    assert audio_type(b"\x00\x00\x00\x20ftypM4A ") == "audio/mp4"
    assert audio_type(b"\x1aE\xdf\xa3\x01") == "audio/webm"
    assert audio_type(b"<html>") == "application/octet-stream"


async def test_a_voice_note_recorded_in_the_web_chat_reaches_the_team(app: BotApp) -> None:
    team = Chat(app, "telegram:4242", "Hùng")
    await team.onboard(role="farmer", phone="0912340001")
    member = app.services.users.by_key("telegram:4242")
    assert member is not None
    member.roles, member.team_areas = [TEAM], ["chi-lang"]
    app.services.users.save(member)
    to_team: list[Reply] = []

    async def telegram_send(_chat: str, replies: list[Reply]) -> None:
        to_team.extend(replies)

    app.services.notifier.register("telegram", telegram_send)
    webm = b"\x1aE\xdf\xa3" + b"\x00" * 200
    async with TestClient(TestServer(build_web_app(app, None))) as web:
        await web.post("/chat/api/send", json={"text": "/start"})
        await web.post("/chat/api/send", json={"text": "Lan"})
        await web.post("/chat/api/send", json={"payload": "addr:chi"})
        for step in ("0912340002", "chi lang"):
            await web.post("/chat/api/send", json={"text": step})
        for payload in ("farmer", "crop:na-chi-lang", "crop:done", "consent:yes"):
            await web.post("/chat/api/send", json={"payload": payload})
        form = FormData()
        form.add_field("voice", webm, filename="voice", content_type="audio/webm")
        resp = await web.post("/chat/api/voice?id=voice-000000001", data=form)
        told = "\n".join(r["html"] for r in (await resp.json())["replies"])
        assert "tổ công nghệ số" in told.lower(), told
        not_audio = FormData()
        not_audio.add_field("voice", b"<html>", filename="x")
        resp = await web.post("/chat/api/voice", data=not_audio)
        assert resp.status == 200  # answered as something the bot cannot use, nothing stored
        [handoff] = app.services.handoffs.with_status(OPEN)
        assert handoff.media.startswith("media:up-") and "-voice-" in handoff.media
        assert handoff.media.endswith(".webm")
        [alert] = to_team
        assert alert.audio == handoff.media  # sent to the team member's Telegram as a file
        played = await web.get(f"/audio/{handoff.media_token}")
        assert played.headers["Content-Type"] == "audio/webm" and await played.read() == webm
    assert len(list((app.settings.data_dir / "media").glob("up-*-voice-*"))) == 1
