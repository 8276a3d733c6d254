"""Forms of address: each person is spoken to as they chose, by their given name, everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.address import TERMS, given_name, suggest_term, title_name
from bot.app import BotApp
from bot.services.users import User
from tests.helpers.driver import Chat
from tests.listings_helpers import fill_to_summary
from tests.orders_helpers import Inbox, add_listing, order_form

# A name typed all lower case, without diacritics, as farmers often do.
NAME = "nguyen thi hoa"
FORMAL = {"ong": "Ông", "anh": "Ông", "chu": "Ông", "ba": "Bà", "chi": "Bà", "co": "Bà"}


def user_id_of(app: BotApp, chat: Chat) -> int:
    """The stored id of a chat's user."""
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    return user.id


def term_of(key: str) -> str:
    """The term as it opens a sentence: "Chị"."""
    return TERMS[key].capitalize()


async def train(app: BotApp, chat: Chat) -> None:
    """Answer every core lesson's quiz right, as the learner would."""
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    service = app.services.lessons
    for lesson in service.lessons.core():
        service.open(user.id, lesson, app.services.clock.now())
        service.answer(user.id, lesson, lesson.quiz.answer, app.services.clock.now())


@pytest.mark.parametrize("term", list(TERMS))
async def test_every_term_is_used_in_menu_listing_order_and_certificate(
    app: BotApp, term: str
) -> None:
    inbox = Inbox(app)
    farmer = Chat(app, f"web:f-{term}", NAME)
    await farmer.onboard(address=term)
    you, named = term_of(term), f"{TERMS[term]} Hoa"
    me = "mình" if term == "em" else "em"
    text = farmer.text()
    assert f"Dạ, {me} cảm ơn {named}!" in text  # the end of onboarding
    assert f"{you} Hoa muốn làm gì ạ?" in text  # the menu greeting, given name capitalised
    assert NAME not in text

    await fill_to_summary(farmer)
    assert f"tin đăng của {named}, đúng như người mua sẽ thấy" in farmer.text()
    await farmer.tap("lf:ok")
    listing = app.services.listings.of_farmer(user_id_of(app, farmer))[0]

    buyer = Chat(app, f"web:b-{term}", "Tran Van Nam")
    await buyer.onboard(role="buyer", address="anh", phone="0987000111")
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    notice = inbox.take(farmer.user_key)
    assert f"Có đơn hàng mới! {you} Hoa bấm xác nhận" in notice, notice
    assert "Anh Nam" in buyer.text() or "anh Nam" in buyer.text()

    await train(app, farmer)
    await farmer.tap("lessons")
    await farmer.tap("cert")
    title = FORMAL.get(term, "Bà")  # bác and em: the name's "Thị" tells
    assert f"Chứng nhận {title} Nguyen Thi Hoa" in farmer.text()
    for forbidden in ("bà con", "Bà con", "tôi"):
        assert forbidden not in farmer.text()


async def test_em_is_answered_by_a_bot_that_calls_itself_minh(app: BotApp) -> None:
    chat = Chat(app, "web:em", "Lò Văn Tú")
    await chat.onboard(address="em")
    await chat.say("/khonglenh")
    assert "mình chưa hiểu lệnh" in chat.text() and "Em Tú muốn làm gì ạ?" in chat.text()


async def test_address_changes_in_the_profile(app: BotApp) -> None:
    chat = Chat(app, "web:change", "Hoàng Văn Minh")
    await chat.onboard(address="anh")
    await chat.tap("profile")
    assert "Cách xưng hô: anh" in chat.text()
    await chat.tap("edit:address")
    assert chat.buttons()[0][1] == "addr:anh"  # "Văn" suggests anh
    await chat.say("chu")
    assert "Hồ sơ của chú" in chat.text() and "Cách xưng hô: chú" in chat.text()
    user = app.services.users.by_key(chat.user_key)
    assert user is not None and user.address == "chu"


async def test_people_registered_before_are_asked_once_at_the_menu(app: BotApp) -> None:
    inbox = Inbox(app)
    farmer = Chat(app, "web:old", "Nông Thị Mai")
    await farmer.onboard()
    user = app.services.users.by_key(farmer.user_key)
    assert user is not None
    user.address = ""  # as stored before forms of address existed
    app.services.users.save(user)
    listing = add_listing(app, farmer)
    buyer = Chat(app, "web:oldbuyer", "Lan")
    await buyer.onboard(role="buyer")
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    notice = inbox.take_replies(farmer.user_key)
    assert "Chị Mai bấm xác nhận" in notice[0].text  # guessed from "Thị" until she says
    confirm = next(b.payload for r in notice for row in r.buttons for b in row)
    await farmer.tap(confirm)  # a button under a notice is never swallowed by the question
    assert "gọi Mai là gì" not in farmer.text()
    await farmer.say("xin chao")
    assert "gọi Mai là gì" in farmer.text() and "một câu ngắn" in farmer.text()
    await farmer.say("co")  # cô
    assert "Cô Mai muốn làm gì ạ?" in farmer.text()
    await farmer.say("/menu")
    assert "gọi Mai là gì" not in farmer.text()


async def test_mid_form_is_not_interrupted_by_the_question(app: BotApp) -> None:
    chat = Chat(app, "web:midform", "Lan")
    await chat.onboard()
    await chat.tap("listings")
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    user.address = ""
    app.services.users.save(user)
    await chat.say("na chi lang")
    assert "gọi Lan là gì" not in chat.text()


async def test_english_reads_naturally(app: BotApp) -> None:
    chat = Chat(app, "web:en", "pham thi thu")
    await chat.onboard(address="chi")
    await chat.say("/ngonngu")
    await chat.say("english")
    assert "Thu, what would you like to do?" in chat.text()
    assert "{" not in chat.text()


def test_names_and_suggestions() -> None:
    assert given_name("nguyen thi  hoa ") == "Hoa" and given_name("") == ""
    assert given_name("<b>{x}</b> Lan") == "Lan"
    assert title_name("hoàng thị lan") == "Hoàng Thị Lan"
    assert suggest_term("Hoàng Thị Lan") == "chi" and suggest_term("nong van binh") == "anh"
    assert suggest_term("Lan") == "" and suggest_term("Văn") == ""


def test_a_user_name_cannot_break_formatting() -> None:
    from bot.address import address_of
    from bot.core.fmt import fmt
    from bot.i18n import _, use_locale

    user = User(name="Hoa {0} <script>", address="chi")
    with use_locale("vi", address_of(user)):
        text = fmt(
            _(
                "Thank you, {You_name}! You are registered in {area} with the number {phone}. Here is what I can do:"
            ),
            area="X",
            phone="Y",
        )
    assert "<script>" not in text and "{" not in text


# "mình" is the bot's own word to someone called "em", so a catalog never says "mình" for the
# person or the commune ("xã mình", "của mình"): it would read as the bot's. "Mình làm tiếp nhé"
# (let's, the two of us) is fine for everyone.
POSSESSIVE_MINH = re.compile(r"(?:của|xã|tổ|tên|chính|thôn|bản)\s+mình", re.IGNORECASE)


def test_no_message_says_minh_for_the_person_or_their_commune() -> None:
    found = []
    for po in sorted(Path("locales/vi/LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            for message in read_po(f):
                text = message.string if isinstance(message.string, str) else ""
                if message.id and POSSESSIVE_MINH.search(text):
                    found.append(f"{po.name}: {text}")
    assert found == []


async def test_em_hears_of_the_team_of_her_own_commune(app: BotApp) -> None:
    chat = Chat(app, "web:em", "Lò Văn Tú")
    await chat.onboard(address="em")
    await chat.say("gia phan bon npk hom nay bao nhieu")
    assert chat.said(
        "Sorry, I do not have an answer to that yet. Shall I send your question to the "
        "digital-tech team of your commune? They will answer here."
    )
    assert "của xã em" in chat.text() and "xã mình" not in chat.text(), chat.text()
