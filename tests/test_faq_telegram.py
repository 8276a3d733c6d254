"""Hỏi đáp end to end: real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from bot.services.handoff import ANSWERED
from bot.services.users import TEAM
from tests.helpers.msgids import said
from tests.helpers.telegram import TelegramBot, payloads, texts

LAN = 7001
HUNG = 7002


async def test_confident_answer_and_vote(tg: TelegramBot) -> None:
    await tg.onboard(LAN, name="Lan", phone=f"+8491234{LAN:04d}")
    reply = await tg.text(LAN, "lam sao mo shop tren posmart")
    assert "Mở gian hàng trên Postmart" in texts(reply)
    up = next(p for p in payloads(reply) if p.startswith("faq:up:"))
    thanks = await tg.tap(LAN, up)
    assert said(texts(thanks), "Thank you! Glad it helped.")
    assert tg.app is not None
    entry = tg.app.services.faq.get(int(up.rsplit(":", 1)[1]))
    assert entry is not None and entry.up == 1
    assert tg.fake.unanswered_callbacks() == []


async def test_did_you_mean(tg: TelegramBot) -> None:
    await tg.onboard(LAN, name="Lan", phone=f"+8491234{LAN:04d}")
    reply = await tg.text(LAN, "tien")
    options = [p for p in payloads(reply) if p.startswith("faq:a:")]
    assert 1 <= len(options) <= 3
    answer = await tg.tap(LAN, options[0])
    assert any(p.startswith("faq:up:") for p in payloads(answer))


async def test_unknown_question_goes_to_team_and_reply_comes_back(tg: TelegramBot) -> None:
    await tg.onboard(HUNG, name="Hùng", phone=f"+8491234{HUNG:04d}")
    assert tg.app is not None
    users = tg.app.services.users
    hung = users.by_key(f"telegram:{HUNG}")
    assert hung is not None
    hung.roles, hung.team_areas = [TEAM], ["chi-lang"]
    users.save(hung)
    await tg.onboard(LAN, name="Lan", phone=f"+8491234{LAN:04d}")
    offer = await tg.text(LAN, "gia phan bon npk <b>hom nay</b> bao nhieu")
    assert said(
        texts(offer),
        "Sorry, I do not have an answer to that yet. Shall I send your question to the digital-tech team of your commune? They will answer here.",
    )
    send = next(p for p in payloads(offer) if p.startswith("ho:send:"))
    await tg.tap(LAN, send)
    alert = tg.new_messages(HUNG)
    assert "gia phan bon npk <b>hom nay</b>" in texts(alert)  # shown as typed, not as HTML
    reply_button = next(p for p in payloads(alert) if p.startswith("tm:reply:"))
    await tg.tap(HUNG, reply_button)
    done = await tg.text(HUNG, "Dạ, NPK ở đại lý xã khoảng 15.000 đ/kg ạ.")
    assert said(texts(done), "Sent. Thank you!")
    relayed = tg.new_messages(LAN)
    assert "15.000 đ/kg" in texts(relayed)
    [handoff] = tg.app.services.handoffs.with_status(ANSWERED)
    assert handoff.answer.startswith("Dạ, NPK")
