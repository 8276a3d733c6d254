"""Free text end to end through the engine: questions mid-form, requests, skip words, resume."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.core.flow import Ctx
from bot.core.fmt import to_plain
from bot.core.types import Incoming
from bot.i18n import set_locale
from tests.helpers.driver import Chat, make_app
from tests.helpers.msgids import ASK_PHONE_TYPED, KG_OR_UNIT, RESUME, RESUME_AT_STEP, said
from tests.listings_helpers import FARMER_KEY, farmer, stored, user_id
from tests.orders_helpers import order_form

STATES = (
    "product",
    "grade",
    "quantity",
    "price",
    "availability",
    "photos",
    "certs",
    "cert_number",
)


def asks(app: BotApp, state: str, key: str = FARMER_KEY) -> str:
    """The first line of a listing question as this user sees it now (wording-proof)."""
    user = app.services.users.by_key(key)
    assert user is not None
    conv = app.services.conversations.get(user.id)
    msg = Incoming(channel="web", user_key=key, kind="text")
    ctx = Ctx(user, dict(conv.data), app.services, msg, app.services.clock.now(), conv.form_id)
    set_locale(user.lang)
    replies = app.engine.flows["listings"].states[state].ask(ctx)
    return to_plain(replies[0].text).splitlines()[0][:40]


SKIP_WORDS = (
    "bo qua",
    "Bỏ qua",
    "bỏ qua nhé",
    "skip",
    "-",
    "ko",
    "k",
    "không",
    "khong co",
    "ko co",
    "thoi bo qua di",
    "de sau",
    "khoi can",
    "chua co",
    "ko biet",
    "chua nho",
)


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock) -> BotApp:
    return make_app(tmp_path / "data", clock)


def form(app: BotApp) -> dict[str, object]:
    """The farmer's answers so far."""
    return app.services.conversations.get(user_id(app, FARMER_KEY)).data


async def answer(chat: Chat, state: str) -> None:
    """Answer one listing question the usual way."""
    moves = {
        "product": lambda: chat.say("na chi lang"),
        "grade": lambda: chat.say("loại 1"),
        "quantity": lambda: chat.say("200"),
        "price": lambda: chat.say("45k"),
        "availability": lambda: chat.tap("lf:now"),
        "photos": lambda: chat.photo("tg:P1"),
        "certs": lambda: chat.tap("lf:c:ocop4"),
        "cert_number": lambda: chat.say("OCOP-LS-2024-017"),
    }
    await moves[state]()
    if state == "photos":
        await chat.tap("lf:done")
    if state == "certs":
        await chat.tap("lf:c:done")


QUESTIONS = {
    "product": "khach dat roi ko nhan hang mat tien ship thi sao",
    "grade": "vietgap xin o dau",
    "quantity": "1 ta la bao nhieu kg",
    "price": "nen ban gia bao nhieu",
    "availability": "na chin vao thang may",
    "photos": "chup anh san pham the nao cho dep",
    "certs": "ocop la gi",
    "cert_number": "so chung nhan xem o dau",
}


async def test_a_question_at_every_listing_step_is_answered_and_the_form_resumes(
    app: BotApp,
) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    for state in STATES:
        before = dict(form(app))
        await chat.say(QUESTIONS[state])
        shown = chat.text()
        answered = any(p.startswith(("faq:", "ho:")) for _label, p in chat.buttons())
        assert answered, (state, shown)
        assert asks(app, state) in shown, (state, shown)
        assert form(app) == before, state  # nothing typed was stored
        await answer(chat, state)
    await chat.say("Na dai, ngọt đậm.")  # the description is free text: taken as typed
    assert "lf:ok" in [p for _label, p in chat.buttons()], chat.text()
    card = chat.text()
    assert "Na Chi Lăng" in card and "loại 1" in card and "OCOP-LS-2024-017" in card
    assert "vietgap" not in card.lower().replace("vietgap xin", "")


async def test_a_question_in_a_description_is_the_description(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    for state in ("product", "grade", "quantity", "price", "availability"):
        await answer(chat, state)
    await chat.tap("lf:skip")
    await chat.tap("lf:c:none")
    await chat.say("Bạn có muốn mua na ngon không?")
    assert "Bạn có muốn mua na ngon không?" in chat.text()
    assert form(app)["description"] == "Bạn có muốn mua na ngon không?"


async def test_one_sentence_sale_asks_only_what_is_missing(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("ban 2 ta na gia 40k")
    asked = [chat.text()]
    assert asks(app, "grade") in asked[0] and asks(app, "product") not in asked[0]
    await chat.tap("lf:skip")
    asked.append(chat.text())
    assert said(asked[-1], KG_OR_UNIT, price="40.000\xa0₫", unit="tạ"), asked[-1]
    await chat.tap("lf:pk:kg")
    asked.append(chat.text())
    assert asks(app, "availability") in asked[-1]
    await chat.tap("lf:now")
    await chat.say("ko co anh")
    await chat.say("ko co")
    await chat.say("bo qua")
    card = chat.text()
    assert "lf:ok" in [p for _label, p in chat.buttons()], card
    assert "2 tạ" in card and "40.000\xa0₫/kg" in card and "4.000.000\xa0₫/tạ" in card
    for question in (asks(app, "quantity"), asks(app, "price"), asks(app, "product")):
        assert not any(question in text for text in asked)
    assert app.services.listings.all() == []  # nothing saved before Confirm
    await chat.tap("lf:ok")
    [listing] = app.services.listings.all()
    assert (listing.quantity, listing.unit, listing.price) == ("2", "tạ", 4_000_000)


async def test_one_sentence_sale_with_its_price_unit_needs_no_check(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("toi muon ban 200 kg hong vanh khuyen 35 nghin 1 kg")
    await chat.say("loai 1")
    assert asks(app, "availability") in chat.text()
    data = form(app)
    assert (data["product_id"], data["quantity"], data["price"]) == (
        "hong-vanh-khuyen-van-lang",
        "200",
        35000,
    )


async def test_a_question_with_a_flow_word_opens_no_flow(app: BotApp) -> None:
    chat = await farmer(app)
    for question in (
        "ban nong san len san nao o lang son",
        "don hang tren voso bi huy tu dong la sao",
        "cay hoi nha toi bi sau an la",
    ):
        await chat.say(question)
        conv = app.services.conversations.get(user_id(app, FARMER_KEY))
        assert conv.flow in ("", "menu"), (question, conv.flow)


async def test_doing_beats_explaining(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("sua so dien thoai")
    assert chat.said(ASK_PHONE_TYPED), chat.text()
    await chat.say("sdt moi cua toi la 0987.654.321 nhe")
    user = app.services.users.by_key(FARMER_KEY)
    assert user is not None and user.phone == "+84987654321"
    await chat.say("xem don hang")
    assert any(p.startswith("s:") for _label, p in chat.buttons()), chat.text()
    await chat.say("tat thong bao")
    user = app.services.users.by_key(FARMER_KEY)
    assert user is not None and not user.consent
    await chat.say("doi ten")
    await chat.say("Lan Anh")
    user = app.services.users.by_key(FARMER_KEY)
    assert user is not None and user.name == "Lan Anh"


@pytest.mark.parametrize("step", ["grade", "photos", "cert_number"])
async def test_every_skip_step_of_the_listing_form_takes_every_skip_word(
    app: BotApp, step: str
) -> None:
    chat = await farmer(app)
    order = ["product", "grade", "quantity", "price", "availability", "photos", "certs"]
    following = {"grade": "quantity", "photos": "certs", "cert_number": "description"}
    for word in SKIP_WORDS:
        await chat.say("/dangban")
        for state in order[: order.index(step) if step in order else len(order)]:
            await answer(chat, state)
        conv = app.services.conversations.get(user_id(app, FARMER_KEY))
        assert conv.state == step, (word, conv.state, chat.text())
        await chat.say(word)
        conv = app.services.conversations.get(user_id(app, FARMER_KEY))
        assert conv.state == following[step], (step, word, chat.text())
        await chat.say("huy")


async def test_outside_order_phone_and_tracking_take_every_skip_word(app: BotApp) -> None:
    chat = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    for word in SKIP_WORDS:
        await chat.say("/ghidon")
        await chat.tap(next(p for _l, p in chat.buttons() if str(listing.id) in p))
        await chat.say("10")
        await chat.say("chi Hoa")
        conv = app.services.conversations.get(user_id(app, FARMER_KEY))
        assert conv.state == "phone", chat.text()
        await chat.say(word)
        conv = app.services.conversations.get(user_id(app, FARMER_KEY))
        assert conv.state == "channel", (word, chat.text())
        await chat.say("huy")


async def test_a_step_own_choices_win_over_the_lexicon(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("hong")
    conv = app.services.conversations.get(user_id(app, FARMER_KEY))
    if conv.state != "product_pick":
        pytest.skip("no specialty offered for this spelling")
    await chat.say("ko")  # No: keep the typed name, not Skip
    data = form(app)
    assert data["product_name"] == "hong" and data["product_id"] == ""


async def test_refusals_are_not_stored(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    for state in ("product", "grade", "quantity", "price", "availability", "photos"):
        await answer(chat, state)
    await chat.tap("lf:c:vietgap")
    await chat.tap("lf:c:done")
    await chat.say("chua nho so")
    assert form(app)["certs"]["number"] == ""  # type: ignore[index]
    assert asks(app, "description") in chat.text()


async def test_opening_a_menu_entry_mid_form_puts_it_aside(app: BotApp, clock: FakeClock) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.say("loai 1")
    await chat.say("xem don hang")
    assert any(p.startswith("s:") for _label, p in chat.buttons())
    await chat.say("menu")
    first_label, first_payload = chat.buttons()[0]
    assert first_payload == "sys:resume" and said(first_label, RESUME_AT_STEP, n=3, total=8)
    await chat.say("1")
    assert asks(app, "quantity") in chat.text()
    assert form(app)["grade"] == "loại 1" or form(app)["grade"] == "loai 1"
    await chat.say("200")
    assert asks(app, "price") in chat.text()


async def test_cancel_discards_and_a_week_forgets(app: BotApp, clock: FakeClock) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.say("hoc ban hang online")  # the lessons; the form is put aside
    await chat.say("menu")
    assert chat.buttons()[0][1] == "sys:resume"
    clock.advance(days=8)
    await chat.say("menu")
    assert chat.buttons()[0][1] != "sys:resume"
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.say("menu")  # the menu word puts the form aside too
    assert chat.buttons()[0][1] == "sys:resume"
    await chat.say("huy")  # at the menu it cancels nothing: the form aside stays
    assert chat.buttons()[0][1] == "sys:resume"
    await chat.say("tiep tuc")
    await chat.say("huy")  # inside the form: discarded, and said so
    assert chat.said("Cancelled.")
    await chat.say("menu")
    assert chat.buttons()[0][1] != "sys:resume"


async def test_declining_the_handoff_offer_keeps_the_form_aside(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.say("menu")
    await chat.say("xyzzy plugh frobnicate quux")
    assert any(p.startswith("ho:send:") for _label, p in chat.buttons()), chat.text()
    await chat.say("huy")
    assert not chat.said("Cancelled.")
    assert chat.buttons()[0][1] == "sys:resume", chat.buttons()
    await chat.say("menu")
    assert chat.buttons()[0][1] == "sys:resume"


async def test_a_correction_changes_the_earlier_answer(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    for state in ("product", "grade", "quantity", "price"):
        await answer(chat, state)
    await chat.say("à nhầm, 3 tạ chứ")
    shown = chat.text()
    assert "3 tạ" in shown and asks(app, "availability") in shown
    data = form(app)
    assert (data["quantity"], data["unit"], data["price"]) == ("3", "tạ", 4_500_000)


async def test_order_named_by_code(app: BotApp) -> None:
    seller = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    shopper = Chat(app, "web:buyer1", "Hoa")
    await shopper.onboard(role="buyer")
    await order_form(shopper, listing)
    await shopper.tap("cf:yes")
    [order] = app.services.orders.of_buyer(user_id(app, "web:buyer1"))
    await seller.say(f"xac nhan don {order.code.lower()}")
    assert order.code in seller.text() and f"ord:ok:{order.id}" in [
        p for _l, p in seller.buttons()
    ]
    assert app.services.orders.get(order.id).status == "new"  # type: ignore[union-attr]
    await seller.tap(f"ord:ok:{order.id}")
    await seller.say(f"don {order.code} da gui hang")
    assert seller.said("Type the shipping tracking code, if there is one, or tap No code.")
    await seller.say("khong co ma")
    assert app.services.orders.get(order.id).status == "shipping"  # type: ignore[union-attr]
    stranger = Chat(app, "web:stranger", "Ba")
    await stranger.onboard(role="farmer")
    await stranger.say(f"huy don {order.code}")
    assert stranger.said("I cannot find order {code} among your orders.", code=order.code)


async def test_an_answer_that_also_fills_a_later_question_fills_it(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.tap("lf:skip")
    await chat.say("200 kg gia 45k")
    assert asks(app, "availability") in chat.text()
    data = form(app)
    assert (data["quantity"], data["unit"], data["price"]) == ("200", "kg", 45000)
    await chat.say("huy")
    await chat.tap("listings")
    await chat.say("na chi lang 2 ta 4,5 trieu")
    await chat.tap("lf:skip")  # the grade: then straight on past quantity and price
    assert asks(app, "availability") in chat.text()
    data = form(app)
    assert (data["quantity"], data["unit"], data["price"]) == ("2", "tạ", 4_500_000)


async def test_share_words_and_order_words_at_the_menu(app: BotApp) -> None:
    seller = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    await seller.say("chia se")
    assert f"lst:po:{listing.id}:zalo" in [p for _l, p in seller.buttons()], seller.text()
    await seller.say("zalo")
    assert "#NaChiLang" in seller.text() or "Zalo" in seller.text()
    await seller.say("da gui hang roi")  # no order waits to be shipped: which one?
    assert any(p.startswith("s:") for _l, p in seller.buttons())
    shopper = Chat(app, "web:buyer2", "Hoa")
    await shopper.onboard(role="buyer")
    await order_form(shopper, listing)
    await shopper.tap("cf:yes")
    [order] = app.services.orders.of_buyer(user_id(app, "web:buyer2"))
    await seller.tap(f"ord:ok:{order.id}")
    await seller.say("da gui hang")  # the one confirmed order: its shipping step
    conv = app.services.conversations.get(user_id(app, FARMER_KEY))
    assert (conv.flow, conv.state) == ("orders", "tracking"), seller.text()


async def test_the_order_note_takes_every_skip_word(app: BotApp) -> None:
    seller = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    del seller
    shopper = Chat(app, "web:buyer3", "Hoa")
    await shopper.onboard(role="buyer")
    for word in SKIP_WORDS:
        await shopper.tap("buy")
        await shopper.say("na chi lang")
        await shopper.tap(f"o:{listing.id}")
        await shopper.say("2 kg")
        await shopper.tap("nm:keep")
        await shopper.tap("ph:keep")
        await shopper.say("12 Trần Đăng Ninh, Lạng Sơn")
        conv = app.services.conversations.get(user_id(app, "web:buyer3"))
        assert conv.state == "note", shopper.text()
        await shopper.say(word)
        conv = app.services.conversations.get(user_id(app, "web:buyer3"))
        assert conv.state == "confirm" and not conv.data.get("note"), (word, shopper.text())
        await shopper.say("huy")


async def test_the_debug_log_has_route_and_scores_never_the_text(
    app: BotApp, caplog: pytest.LogCaptureFixture
) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    caplog.set_level(logging.DEBUG, logger="bot.core.routing")
    await chat.say("sdt cua toi 0987.654.321 co dang ban duoc khong")
    await chat.say("huy")
    await chat.say("ban 2 ta na gia 40k")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.core.routing"]
    assert any("route faq" in line and "listings/product" in line for line in lines), lines
    assert any("route request" in line for line in lines), lines
    logged = "\n".join(lines)
    assert "0987" not in logged and "654" not in logged and "dang ban" not in logged
    assert "40k" not in logged and "40000" not in logged


async def test_registering_a_question_is_answered_not_taken_as_a_name(app: BotApp) -> None:
    chat = Chat(app, "web:new1", "Lan")
    await chat.say("/start")
    await chat.say("bot nay la gi vay?")
    conv = app.services.conversations.get(user_id(app, "web:new1"))
    assert (conv.flow, conv.state) == ("onboarding", "name"), chat.text()
    user = app.services.users.by_key("web:new1")
    assert user is not None and "bot nay" not in user.name
    await chat.say("Lan")
    await chat.tap("addr:chi")
    await chat.say("sdt cua toi la 0987.654.321")
    user = app.services.users.by_key("web:new1")
    assert user is not None and user.phone == "+84987654321", chat.text()


async def test_a_question_in_the_outside_order_form_and_its_resume_line(app: BotApp) -> None:
    chat = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    await chat.say("/ghidon")
    await chat.tap(next(p for _l, p in chat.buttons() if str(listing.id) in p))
    await chat.say("10")
    await chat.say("ghi ten khach de lam gi vay")  # a question at the buyer's name
    conv = app.services.conversations.get(user_id(app, FARMER_KEY))
    assert (conv.state, conv.data.get("name")) == ("buyer", None), chat.text()
    await chat.say("chi Hoa")
    await chat.say("hoc ban hang online")  # the lessons: the form is put aside
    await chat.say("menu")
    label, payload = chat.buttons()[0]
    assert payload == "sys:resume" and said(label, RESUME), label
    assert said(label, "Record an order"), label  # the form put aside
    await chat.tap("sys:resume")
    conv = app.services.conversations.get(user_id(app, FARMER_KEY))
    assert (conv.flow, conv.state, conv.data["name"]) == ("order_out", "phone", "chi Hoa")


async def test_one_sentence_purchase_skips_the_amount_when_it_fits(app: BotApp) -> None:
    seller = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    del seller
    shopper = Chat(app, "web:buyer4", "Hoa")
    await shopper.onboard(role="buyer")
    await shopper.say("mua 10 kg na chi lang")
    assert f"o:{listing.id}" in [p for _l, p in shopper.buttons()], shopper.text()
    await shopper.tap(f"o:{listing.id}")
    conv = app.services.conversations.get(user_id(app, "web:buyer4"))
    assert (conv.state, conv.data.get("qty")) == ("name", "10"), shopper.text()
    await shopper.say("huy")
    await shopper.say("mua 500 kg na chi lang")  # more than the 100 kg on sale: asked
    await shopper.tap(f"o:{listing.id}")
    conv = app.services.conversations.get(user_id(app, "web:buyer4"))
    assert conv.state == "qty", shopper.text()


@pytest.mark.parametrize(
    "typed",
    ["tiep tuc", "tiếp tục", "tiep tuc dang ban", "lam tiep", "tiep", "Tiếp tục: Đăng bán"],
)
async def test_the_resume_line_answers_to_its_words(app: BotApp, typed: str) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.say("loai 1")
    await chat.say("menu")
    assert chat.buttons()[0][1] == "sys:resume"
    await chat.say(typed)
    assert asks(app, "quantity") in chat.text(), chat.text()
    assert form(app)["grade"] in ("loai 1", "loại 1")


async def test_a_sale_with_a_price_and_no_quantity_keeps_the_price(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("ban na 40k/kg")
    await chat.tap("lf:skip")
    assert asks(app, "quantity") in chat.text()
    await chat.say("2 ta")  # the price typed per kg follows the unit sold by
    assert asks(app, "availability") in chat.text(), chat.text()
    assert (form(app)["unit"], form(app)["price"]) == ("tạ", 4_000_000)


async def test_a_price_without_quantity_implausible_for_its_unit_is_checked(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("dang ban hong vanh khuyen 45 nghin 1 ta")
    await chat.tap("lf:skip")
    await chat.say("3 ta")
    assert "45.000\xa0₫ một kg hay một tạ" in chat.text(), chat.text()
    await chat.tap("lf:pk:kg")
    assert asks(app, "availability") in chat.text()
    assert (form(app)["unit"], form(app)["price"]) == ("tạ", 4_500_000)


async def test_a_sale_with_only_a_price_opens_the_form_with_it(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("ban hong 45 nghin 1 ta")
    assert asks(app, "product") in chat.text(), chat.text()
    assert form(app)["price_typed"] == 45_000 and form(app)["unit"] == "tạ"


async def test_an_amount_typed_at_the_grade_is_no_grade(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("toi muon ban 2 ta na gia 40k")
    assert asks(app, "grade") in chat.text()
    await chat.say("mot ta")
    assert chat.said("Changed: quantity {qty} {unit}.", qty="1", unit="tạ"), chat.text()
    assert asks(app, "grade") in chat.text()
    assert "grade" not in form(app) and form(app)["quantity"] == "1"
    await chat.say("loai 1")
    assert form(app)["grade"] == "loai 1"
    assert asks(app, "quantity") not in chat.text()


async def test_a_price_typed_at_the_grade_is_no_grade(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.say("45k")
    assert asks(app, "grade") in chat.text(), chat.text()
    assert "grade" not in form(app)
    await chat.say("loai 1")
    assert asks(app, "quantity") in chat.text()
    await chat.say("200 kg")
    assert asks(app, "availability") in chat.text(), chat.text()
    assert form(app)["price"] == 45_000


async def test_doing_beats_explaining_for_address_and_sold_out(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.say("doi cach xung ho")
    assert chat.said(
        "How would you like me to call you, {name}? You can change it later in your profile.",
        name="Lan",
    ), chat.text()
    await chat.say("menu")
    await chat.say("toi da ban het hang roi")  # the farmer's listings, to mark one sold out
    assert chat.said(
        "You have no listings yet. Tap <b>New listing</b> to put a product on sale."
    ), chat.text()
    assert "lm:new" in [p for _label, p in chat.buttons()]


@pytest.mark.parametrize("typed", ["nha toi mat dien tu sang", "de em hoi chong da", "ok em"])
async def test_words_without_a_number_at_the_phone_step_are_no_wrong_number(
    app: BotApp, typed: str
) -> None:
    chat = await farmer(app)
    await chat.say("sua so dien thoai")
    await chat.say(typed)
    said = chat.text()
    assert "số di động" not in said, said
    assert chat.said(
        "What is your phone number? Buyers and the team use it to reach you.\n"
        "Please type it, e.g. 0912 345 678."
    ), said
    await chat.say("0987 654 321")
    user = app.services.users.by_key(FARMER_KEY)
    assert user is not None and user.phone == "+84987654321"
