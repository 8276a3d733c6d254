"""Hỏi đáp through the engine: answers, did-you-mean, handoff to the team, admin editing."""

from __future__ import annotations

from pathlib import Path

from bot.app import BotApp
from bot.core.types import Reply
from bot.services.handoff import ANSWERED, OPEN
from bot.services.users import ADMIN, TEAM
from tests.helpers.driver import MAIN_MENU, Chat, make_app
from tests.helpers.msgids import said


def outbox(app: BotApp) -> list[tuple[str, list[Reply]]]:
    """Capture notifications sent on the web channel."""
    sent: list[tuple[str, list[Reply]]] = []

    async def sender(platform_id: str, replies: list[Reply]) -> None:
        sent.append((platform_id, replies))

    app.services.notifier.register("web", sender)
    return sent


async def member(app: BotApp, key: str, name: str, areas: list[str], role: str = TEAM) -> Chat:
    chat = Chat(app, key, name)
    await chat.onboard(phone="0987654321")
    user = app.services.users.by_key(key)
    assert user is not None
    user.roles, user.team_areas = [role], areas
    app.services.users.save(user)
    return chat


def to(sent: list[tuple[str, list[Reply]]], key: str) -> list[Reply]:
    return [r for pid, replies in sent if f"web:{pid}" == key for r in replies]


async def test_confident_answer_and_thumbs_up_recorded(app: BotApp) -> None:
    chat = Chat(app, "web:f1", "Lan")
    await chat.onboard()
    await chat.say("lam sao mo shop tren posmart")
    assert "Mở gian hàng trên Postmart" in chat.text()
    up = next(p for label, p in chat.buttons() if label == "👍")
    await chat.tap(up)
    await chat.tap(up)  # pressed twice: still one vote
    entry = app.services.faq.get(int(up.rsplit(":", 1)[1]))
    assert entry is not None and (entry.up, entry.down) == (1, 0)
    await chat.tap(up.replace(":up:", ":dn:"))  # a changed mind moves the vote
    assert (entry.up, entry.down) == (0, 1)


async def test_did_you_mean_offers_candidates(app: BotApp) -> None:
    chat = Chat(app, "web:f1", "Lan")
    await chat.onboard()
    await chat.say("tien")
    suggestions = [p for _l, p in chat.buttons() if p.startswith("faq:a:")]
    assert 1 <= len(suggestions) <= 3, chat.text()
    assert chat.said("Did you mean…"), chat.text()
    await chat.tap(suggestions[0])
    assert "👍" in [label for label, _p in chat.buttons()]


async def test_greeting_and_thanks_get_a_friendly_reply(app: BotApp) -> None:
    chat = Chat(app, "web:f1", "Lan")
    await chat.onboard()
    for text in ("chao em", "Xin chào!", "cam on em nhieu", "ok"):
        await chat.say(text)
        assert "👍" not in [label for label, _p in chat.buttons()], text
        assert chat.said(MAIN_MENU), text


async def test_unknown_question_handed_to_the_team_and_reply_relayed(app: BotApp) -> None:
    sent = outbox(app)
    team = await member(app, "web:t1", "Hùng", ["chi-lang"])
    other = await member(app, "web:t2", "Mai", ["van-lang"])
    farmer = Chat(app, "web:f1", "Lan")
    await farmer.onboard()
    area = app.services.users.by_key("web:f1").area  # type: ignore[union-attr]
    assert area == "chi-lang"
    await farmer.say("gia phan bon npk hom nay bao nhieu")
    assert farmer.said(
        "Sorry, I do not have an answer to that yet. Shall I send your question to the digital-tech team of your commune? They will answer here."
    )
    await farmer.tap_label("Tổ công nghệ số")
    assert farmer.said("Sent. The digital-tech team of your commune will answer you here.")
    [alert] = to(sent, "web:t1")
    assert "gia phan bon npk" in alert.text and "Lan" in alert.text
    assert to(sent, "web:t2") == []
    reply_button = alert.buttons[0][0].payload
    # A team member of another area pressing a forged button is refused.
    await other.tap(reply_button)
    assert other.said("Sorry, only the digital-tech team of that commune can do this.")
    # The team member of the area answers; the farmer gets it through the bot.
    await team.tap(reply_button)
    await team.say("Dạ, NPK ở đại lý xã đang khoảng 15.000 đ/kg.")
    assert team.said("Sent. Thank you!")
    [relayed] = to(sent, "web:f1")
    assert "15.000 đ/kg" in relayed.text and said(
        relayed.text, "💬 The digital-tech team answered your question “{question}”:"
    )
    [handoff] = app.services.handoffs.of_asker(farmer_id(app, "web:f1"))
    assert handoff.status == ANSWERED and handoff.answered_by == farmer_id(app, "web:t1")
    await team.tap(reply_button)  # a second answer is not possible
    assert team.said("This question has already been answered or closed.")


def farmer_id(app: BotApp, key: str) -> int:
    user = app.services.users.by_key(key)
    assert user is not None
    return user.id


async def test_no_team_in_area_is_said_and_admin_sees_it(app: BotApp) -> None:
    farmer = Chat(app, "web:f1", "Lan")
    await farmer.onboard()
    await farmer.say("xin giay phep khai thac go o dau")
    await farmer.tap_label("Tổ công nghệ số")
    assert farmer.said(
        "Your commune has no digital-tech team member on the bot yet. I have kept your question for the province staff, who will answer here."
    )
    admin = await member(app, "web:a1", "Admin", [], role=ADMIN)
    await admin.say("/cauhoi")
    assert "xin giay phep khai thac go" in admin.text()
    hid = next(p for _l, p in admin.buttons() if p.startswith("tm:reply:"))
    await admin.tap(hid)
    await admin.say("Dạ, bà con liên hệ hạt kiểm lâm huyện.")
    await admin.tap_label("Đưa vào hỏi đáp")
    assert admin.said(
        "FAQ entry #{id} created: {question}\nEdit it (e.g. add other phrasings) with /faq."
    )
    entry = app.services.faq.by_question("xin giay phep khai thac go o dau")
    assert entry is not None and "kiểm lâm" in entry.answer
    await farmer.say("xin giấy phép khai thác gỗ ở đâu")
    assert "kiểm lâm" in farmer.text()


async def test_farmer_cannot_list_or_answer_questions(app: BotApp) -> None:
    farmer = Chat(app, "web:f1", "Lan")
    await farmer.onboard()
    await farmer.say("/cauhoi")
    assert farmer.said(
        "This is for digital-tech team members. Type your question and I will try to answer it."
    )
    await farmer.say("cay nay bi sau gi vay")
    [hid] = [p for _l, p in farmer.buttons() if p.startswith("ho:send:")]
    await farmer.tap("tm:reply:" + hid.rsplit(":", 1)[1])
    assert farmer.said("Sorry, only the digital-tech team of that commune can do this.")


async def test_voice_note_goes_to_the_area_team(app: BotApp) -> None:
    sent = outbox(app)
    await member(app, "web:t1", "Hùng", ["chi-lang"])
    farmer = Chat(app, "web:f1", "Lan")
    await farmer.onboard()
    await farmer.other("voice")
    assert farmer.said(
        "I cannot listen to voice messages, so I have passed yours to the digital-tech team of your commune. They will answer here. You can also type your question."
    )
    [alert] = to(sent, "web:t1")
    assert "🎤" in alert.text and "Lan" in alert.text
    [handoff] = app.services.handoffs.of_asker(farmer_id(app, "web:f1"))
    assert handoff.status == OPEN and handoff.kind == "voice"


async def test_admin_edits_adds_and_deletes_in_chat(app: BotApp) -> None:
    admin = await member(app, "web:a1", "Admin", [], role=ADMIN)
    await admin.say("/faq")
    await admin.say("postmart")
    opened = next(p for label, p in admin.buttons() if "Sàn Postmart là gì" in label)
    await admin.tap(opened)
    await admin.tap_label("Sửa câu trả lời")
    await admin.say("Postmart là sàn của Bưu điện — câu trả lời mới.")
    assert admin.said("Saved.")
    farmer = Chat(app, "web:f1", "Lan")
    await farmer.onboard()
    await farmer.say("postmart la gi vay")
    assert "câu trả lời mới" in farmer.text()
    # Guided add: question, answer, alternatives, tags.
    await admin.say("/faq")
    await admin.tap_label("Thêm câu hỏi")
    await admin.say("Bán hồng vành khuyên mùa nào?")
    await admin.say("Dạ, hồng vành khuyên chín vào tháng 9–10.")
    await admin.say("hong vanh khuyen thu hoach khi nao | mua hong")
    await admin.say("-")
    assert admin.said("Added. Farmers get this answer from now on.")
    await farmer.say("hong vanh khuyen thu hoach thang may")
    assert "tháng 9–10" in farmer.text()
    await admin.tap_label("Xóa")
    await admin.tap_label("Có, xóa")
    assert admin.said("Deleted.")
    assert app.services.faq.by_question("Bán hồng vành khuyên mùa nào?") is None


async def test_farmer_is_refused_the_editor(app: BotApp) -> None:
    farmer = Chat(app, "web:f1", "Lan")
    await farmer.onboard()
    count = len(app.services.faq)
    await farmer.say("/faq")
    assert farmer.said(
        "Only admins can edit the FAQ. Type your question and I will try to answer it."
    )
    assert [p for _l, p in farmer.buttons() if p.startswith("fa-")] == []
    await farmer.tap("fa-add")
    await farmer.say("cau hoi gia")
    assert len(app.services.faq) == count


async def test_content_survives_restart_and_seed_runs_once(tmp_path: Path) -> None:
    app = make_app(tmp_path / "d")
    seeded = len(app.services.faq)
    assert seeded >= 40
    for entry in app.services.faq.all()[:5]:
        app.services.faq.delete(entry.id)
    await app.stop()
    app = make_app(tmp_path / "d")
    assert len(app.services.faq) == seeded - 5
    assert app.services.faq.match("ma otp la gi vay").confident is not None
    await app.stop()
