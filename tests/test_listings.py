"""The listing form and "my listings", driven through the engine as a farmer would."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.core.engine import CANCEL_WORDS, HELP_WORDS
from bot.core.fmt import to_plain
from bot.core.types import Incoming
from bot.services.listings import ACTIVE, MAX_ACTIVE_PER_FARMER, PAUSED, SOLD_OUT
from bot.services.users import ADMIN
from bot.text import clean, fold
from tests.helpers.driver import MAIN_MENU, Chat, make_app
from tests.helpers.msgids import pattern, said
from tests.listings_helpers import FARMER_KEY, farmer, fill_to_summary, stored, user_id

SKIP_WORDS = frozenset({"bo qua", "skip", "khong", "ko", "k"})
BLNS: list[str] = json.loads((Path(__file__).parent / "data" / "blns.json").read_text())

ASK_PRICE = "Price per {unit}? Type it as you usually do, e.g. <i>45k</i>, <i>45.000đ</i> or <i>1,2 triệu một tạ</i>."
MY_PAGE = "<b>My listings</b> — page {page} of {pages}"


async def test_listing_with_three_photos_ocop4_price_45k_and_price_edit(app: BotApp) -> None:
    chat = await farmer(app)
    await fill_to_summary(chat)
    card = chat.last[-1]
    assert card.photos == ["tg:PHOTO1"]  # the summary is a photo with its caption
    shown = chat.text()
    assert "Na Chi Lăng (loại 1)" in shown
    assert "45.000\xa0₫/kg" in shown
    assert "OCOP 4 sao" in shown and "OCOP-LS-2024-017" in shown
    assert said(shown, "In stock: {amount}", amount="200 kg"), shown
    assert said(shown, "{count} photo(s)", count=3), shown

    await chat.tap("lf:e:price")
    assert chat.said(ASK_PRICE, unit="kg")
    await chat.say("50k")
    assert "50.000\xa0₫/kg" in chat.text()  # straight back to the summary
    assert app.services.listings.all() == []  # nothing stored before Confirm

    await chat.tap("lf:ok")
    assert chat.said("Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:")
    [listing] = app.services.listings.all()
    assert listing.farmer_id == user_id(app, FARMER_KEY)
    assert (listing.product_id, listing.product_name, listing.grade) == (
        "na-chi-lang",
        "Na Chi Lăng",
        "loại 1",
    )
    assert (listing.quantity, listing.stock, listing.unit, listing.price) == (
        "200",
        "200",
        "kg",
        50000,
    )
    assert listing.photos == ["tg:PHOTO1", "tg:PHOTO2", "tg:PHOTO3"]
    assert listing.certs.ocop == 4 and listing.certs.number == "OCOP-LS-2024-017"
    assert listing.status == ACTIVE and listing.area == "chi-lang"


async def test_restart_mid_form_and_listing_after_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    data = tmp_path / "data"
    app = make_app(data, clock)
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("hong khong hat")  # loose spelling finds the specialty
    await chat.tap("lf:skip")
    await chat.say("2 tạ")
    await app.stop()

    app = make_app(data, clock)
    chat = Chat(app, FARMER_KEY, "Lan")
    await chat.say("1,2 triệu một tạ")
    assert chat.said(
        "When is it available? Tap <b>Available now</b>, or type e.g. <i>tháng 8–9</i>, <i>từ 15/8 đến 30/9</i>."
    )
    await chat.say("tháng 9 – 10 âm lịch")
    await chat.tap("lf:skip")
    await chat.tap("lf:c:none")
    await chat.tap("lf:skip")
    assert "Hồng không hạt Bảo Lâm" in chat.text()
    await chat.tap("lf:ok")
    await app.stop()

    app = make_app(data, clock)
    try:
        [listing] = app.services.listings.all()
        assert listing.product_id == "hong-khong-hat-bao-lam"
        assert (listing.quantity, listing.unit, listing.price) == ("2", "tạ", 1_200_000)
        assert listing.availability == "tháng 9 – 10 âm lịch"
        chat = Chat(app, FARMER_KEY, "Lan")
        await chat.say("/tindang")
        assert "Hồng không hạt Bảo Lâm" in chat.text()
        assert "1.200.000\xa0₫/tạ" in chat.text()
    finally:
        await app.stop()


async def test_price_per_another_weight_is_shown_per_unit(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.tap("lf:p:na-chi-lang")
    await chat.tap("lf:skip")
    await chat.say("500")
    await chat.say("1,2 triệu một tạ")
    assert chat.said(
        "{typed} per {typed_unit} is {price} per {unit}.",
        typed="1.200.000\xa0₫",
        typed_unit="tạ",
        price="12.000\xa0₫",
        unit="kg",
    ), chat.text()


async def test_redelivered_confirm_and_double_tap_store_one_listing(app: BotApp) -> None:
    chat = await farmer(app)
    await fill_to_summary(chat)
    confirm = Incoming("web", FARMER_KEY, "button", payload="lf:ok", event_id="evt-77")
    first = await chat.send(confirm)
    assert said(
        "\n".join(to_plain(r.text) for r in first),
        "Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:",
    )
    assert await chat.send(confirm) == []  # the same update again: handled once
    await chat.tap("lf:ok")  # a second tap on the old button
    assert chat.said("That button is from an earlier message. Please answer this question:")
    assert len(app.services.listings.all()) == 1


async def test_confirm_after_a_crash_between_save_and_reply_stores_once(app: BotApp) -> None:
    chat = await farmer(app)
    await fill_to_summary(chat)
    conv = app.services.conversations.get(user_id(app, FARMER_KEY))
    await chat.tap("lf:ok")
    app.services.conversations.save(conv)  # as if the form's state was never cleared
    await chat.tap("lf:ok")
    assert chat.said("Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:")
    assert len(app.services.listings.all()) == 1


async def test_bad_input_gets_a_correction_and_the_same_question(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.other("sticker")
    assert chat.said("Please type the name of the product, or tap one of the buttons.")
    await chat.say("na chi lang")
    await chat.tap("lf:skip")
    await chat.say("abc")
    assert chat.said(
        "I could not read that amount. Please type e.g. 200 kg, 2 tạ or 50 hộp."
    ) and chat.said(
        "How much do you have for sale? Type the amount and unit, e.g. <i>200 kg</i>, <i>2 tạ</i>, <i>50 hộp</i>."
    )
    await chat.say("0 kg")
    assert chat.said("The amount must be more than 0.")
    await chat.say("200")
    await chat.other("sticker")
    assert chat.said("Please type the price in numbers, e.g. 45k or 45.000.")
    for zero in ("0", "0đ", "-45000"):
        await chat.say(zero)
        assert chat.said("The price must be more than 0 đồng."), zero
    await chat.say("45")
    assert chat.said(
        "That is very low: at least {min} per {unit}. Did you mean thousands (e.g. 45k)?"
    )
    await chat.say("2 tỷ")
    assert chat.said("That is too high: at most {max} per {unit}.")
    await chat.say("45k/hộp")
    assert chat.said(
        "That price is per {typed}, but you sell by {unit}. Please type the price per {unit}.",
        typed="hộp",
    )
    await chat.say("45.000đ/kg")
    assert chat.said(
        "When is it available? Tap <b>Available now</b>, or type e.g. <i>tháng 8–9</i>, <i>từ 15/8 đến 30/9</i>."
    )
    await chat.tap("lf:now")
    for i in range(5):
        await chat.photo(f"tg:P{i}")
    await chat.photo("tg:P5")
    assert chat.said("You already have {max} photos, the most allowed; this one was not added.")
    await chat.say("hello")
    assert chat.said("Please send a photo (use the 📎 or camera button), or tap the button below.")
    await chat.tap("lf:done")
    await chat.say("ocop 4 sao, vietgap")
    assert chat.said("Chosen:") and "OCOP 4 sao, VietGAP" in chat.text()
    assert "2. ✅ OCOP 4 sao" in [label for label, _p in chat.buttons()]
    await chat.tap("lf:c:done")
    await chat.tap("lf:skip")
    await chat.say("x" * 501)
    assert chat.said(
        "That is {count} characters; at most {max} please. Shorten it a little.", count=501
    )
    await chat.tap("lf:skip")
    assert "5 ảnh" in chat.text() and "OCOP 4 sao, VietGAP" in chat.text()


async def test_product_name_with_markup_is_kept_exactly_as_typed(app: BotApp) -> None:
    name = 'Na Chi Lăng <loại 1> & "ngon"'
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say(name)
    assert chat.said(
        "Is it the local specialty <b>{name}</b>? Buyers find specialties more easily."
    )  # the specialty is offered, not forced
    await chat.tap("lf:keep")
    await chat.tap("lf:skip")
    await chat.say("30 hộp")
    await chat.say("120k")
    await chat.tap("lf:now")
    await chat.tap("lf:skip")
    await chat.tap("lf:c:none")
    await chat.say("<b>ngon</b> & rẻ")
    card = chat.last[-1].text
    assert '&lt;loại 1&gt; &amp; "ngon"' in card and "&lt;b&gt;ngon&lt;/b&gt;" in card
    assert name in chat.text()
    await chat.tap("lf:ok")
    [listing] = app.services.listings.all()
    assert (listing.product_id, listing.product_name) == ("", name)
    assert listing.description == "<b>ngon</b> & rẻ"


async def test_typed_product_not_in_the_list_is_kept(app: BotApp) -> None:
    chat = await farmer(app)
    await chat.tap("listings")
    await chat.say("Cải ngồng Lộc Bình")
    assert chat.said("Grade or variety? (e.g. <i>loại 1</i>, <i>na dai</i>) — or tap Skip.")
    await chat.tap("lf:skip")
    await chat.say("20")
    assert chat.said(
        "Please add the unit, e.g. 200 kg, 50 hộp or 30 túi."
    )  # no default unit for a product typed freely
    await chat.say("20 lít")
    assert chat.said(ASK_PRICE, unit="lít")


async def test_blns_strings_are_saved_and_shown_exactly(app: BotApp) -> None:
    chat = await farmer(app)
    await fill_to_summary(chat, photos=0)
    last = ""
    for text in BLNS:
        typed = clean(text, multiline=True)  # as kept: nothing invisible or direction-changing
        if not typed or len(typed) > 500 or any(ord(c) < 32 and c != "\n" for c in typed):
            continue
        words = fold(typed)
        if words in SKIP_WORDS | CANCEL_WORDS | HELP_WORDS or typed[:1] in ("/", "-"):
            continue  # these mean "skip", "cancel" or "help" everywhere
        await chat.tap("lf:e:description")
        await chat.say(typed)
        card = chat.last[-1]
        assert card.buttons, (typed, chat.text())
        assert to_plain(card.text).count(typed) >= 1, typed
        assert "<" not in card.text.replace("<b>", "").replace("</b>", ""), typed
        last = typed
    await chat.tap("lf:ok")
    [listing] = app.services.listings.all()
    assert listing.description == last


async def test_only_farmers_see_the_listing_menu(app: BotApp) -> None:
    buyer = Chat(app, "web:buyer1", "Minh")
    await buyer.onboard(role="buyer")
    payloads = [p for _label, p in buyer.buttons()]
    assert "listings" not in payloads and "mylistings" not in payloads
    await buyer.say("/dangban")
    assert buyer.said("Only sellers can post listings. You can change to selling in your profile.")
    seller = await farmer(app)
    payloads = [p for _label, p in seller.buttons()]
    assert payloads[:2] == ["listings", "mylistings"]
    first, second = [label for label, _p in seller.buttons()][:2]
    assert first.startswith("1. ") and said(first, "📝 Sell a product"), first
    assert second.startswith("2. ") and said(second, "📦 My listings"), second


async def test_at_most_fifty_active_listings(app: BotApp) -> None:
    chat = await farmer(app)
    stored(app, user_id(app, FARMER_KEY), MAX_ACTIVE_PER_FARMER)
    await chat.tap("listings")
    await chat.say("na chi lang")
    assert chat.said(
        "You already have {max} listings on sale, the most allowed. Pause or delete one in “My listings” first.",
        max=50,
    ) and chat.said(MAIN_MENU)


async def test_my_listings_paged_pause_sold_out_resume_delete(app: BotApp) -> None:
    chat = await farmer(app)
    items = stored(app, user_id(app, FARMER_KEY), 7)
    await chat.tap("mylistings")
    assert chat.said(MY_PAGE, page=1, pages=2)
    assert sum(p.startswith("lst:v:") for _l, p in chat.buttons()) == 5
    await chat.tap_label("Trang sau")
    assert chat.said(MY_PAGE, page=2, pages=2) and "Na Chi Lăng 1" in chat.text()
    await chat.say("1")  # the first listing on this page, by its number
    assert "Na Chi Lăng 2" in chat.text() and "lst:pause:2" in [p for _l, p in chat.buttons()]

    target = items[0].id
    await chat.tap(f"lst:pause:{target}")
    assert (
        chat.said("Paused: buyers cannot order it until you sell it again.")
        and re.search("⏸ " + pattern("paused").pattern, chat.text()) is not None
    )
    assert app.services.listings.get(target).status == PAUSED  # type: ignore[union-attr]
    await chat.tap(f"lst:resume:{target}")
    await chat.tap(f"lst:sold:{target}")
    assert app.services.listings.get(target).status == SOLD_OUT  # type: ignore[union-attr]
    await chat.tap(f"lst:del:{target}")
    name = items[0].product_name
    assert chat.said("Delete <b>{name}</b> for good? Buyers will no longer see it.", name=name)
    await chat.tap(f"lst:v:{target}")  # "No, keep it"
    assert app.services.listings.get(target) is not None
    await chat.tap(f"lst:del:{target}")
    await chat.tap(f"lst:dy:{target}")
    assert chat.said("Deleted: {name}.", name=name) and chat.said(MY_PAGE, page=1, pages=2)
    assert app.services.listings.get(target) is None


async def test_edit_a_field_of_a_stored_listing(app: BotApp) -> None:
    chat = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    await chat.tap(f"lst:ed:{listing.id}")
    await chat.tap(f"lst:ef:{listing.id}:price")
    await chat.say("52.000đ")
    assert chat.said("Saved.") and "52.000\xa0₫/kg" in chat.text()
    await chat.tap(f"lst:ef:{listing.id}:quantity")
    await chat.say("3 tạ")
    assert "5.200.000\xa0₫/tạ" in chat.text()  # the price follows the new unit
    fresh = app.services.listings.get(listing.id)
    assert fresh is not None and (fresh.price, fresh.unit, fresh.stock) == (5_200_000, "tạ", "3")


async def test_forged_button_from_another_user_is_refused_and_logged(
    app: BotApp, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    other = await farmer(app, "web:farmer2", "Hoa")
    with caplog.at_level(logging.WARNING):
        for payload in (
            f"lst:ef:{listing.id}:price",
            f"lst:pause:{listing.id}",
            f"lst:dy:{listing.id}",
            f"lst:qr:{listing.id}",
        ):
            await other.tap(payload)
            assert other.said("Sorry, you can only manage your own listings."), payload
    assert caplog.text.count(f"listing {listing.id} belongs to user") == 4
    fresh = app.services.listings.get(listing.id)
    assert fresh is not None and fresh.status == ACTIVE and fresh.price == 45000
    await owner.tap(f"lst:pause:{listing.id}")
    assert app.services.listings.get(listing.id).status == PAUSED  # type: ignore[union-attr]


async def test_an_admin_may_manage_any_listing(app: BotApp) -> None:
    await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    admin = await farmer(app, "web:admin", "Quản trị")
    user = app.services.users.by_key("web:admin")
    assert user is not None
    user.roles.append(ADMIN)
    app.services.users.save(user)
    await admin.tap(f"lst:sold:{listing.id}")
    assert app.services.listings.get(listing.id).status == SOLD_OUT  # type: ignore[union-attr]


async def test_a_button_under_an_old_message_keeps_a_half_filled_form(app: BotApp) -> None:
    chat = await farmer(app)
    [listing] = stored(app, user_id(app, FARMER_KEY))
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.tap(f"lst:po:{listing.id}:zalo")  # share a post while in the middle of the form
    assert "#NaChiLang" in chat.text()
    await chat.say("loại 2")
    assert chat.said(
        "How much do you have for sale? Type the amount and unit, e.g. <i>200 kg</i>, <i>2 tạ</i>, <i>50 hộp</i>."
    )


async def test_deleting_ones_data_deletes_ones_listings(app: BotApp) -> None:
    chat = await farmer(app)
    farmer_id = user_id(app, FARMER_KEY)
    media = app.settings.data_dir / "media"
    media.mkdir(parents=True)
    (media / "photo1.jpg").write_bytes(b"\xff\xd8\xff")
    [listing] = stored(app, farmer_id, photos=["media:photo1.jpg"])
    await chat.tap(f"lst:qr:{listing.id}")
    assert (media / f"qr-{listing.id}.png").exists()
    other = await farmer(app, "web:farmer2", "Hoa")
    [kept] = stored(app, user_id(app, "web:farmer2"))
    await chat.say("/xoadulieu")
    await chat.tap("del:yes")
    assert app.services.listings.of_farmer(farmer_id) == []
    assert not (media / "photo1.jpg").exists() and not (media / f"qr-{listing.id}.png").exists()
    assert app.services.listings.get(kept.id) is not None
    assert other.user_key == "web:farmer2"
