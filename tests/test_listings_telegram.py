"""A listing end to end on real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from tests.helpers.msgids import said
from tests.helpers.telegram import TelegramBot, payloads, texts

LAN = 7001
HOA = 7002


async def test_listing_end_to_end_on_telegram(tg: TelegramBot) -> None:
    await tg.onboard(LAN)
    form = await tg.tap(LAN, "listings")
    assert "lf:p:na-chi-lang" in payloads(form)
    await tg.text(LAN, "na chi lang")
    await tg.tap(LAN, "lf:skip")
    assert said(
        texts(await tg.text(LAN, "200")),
        "Price per {unit}? Type it as you usually do, e.g. <i>45k</i>, <i>45.000đ</i> or <i>1,2 triệu một tạ</i>.",
        unit="kg",
    )
    await tg.restart()  # a deploy in the middle of the form
    asked = await tg.text(LAN, "45k")
    assert said(
        texts(asked),
        "When is it available? Tap <b>Available now</b>, or type e.g. <i>tháng 8–9</i>, <i>từ 15/8 đến 30/9</i>.",
    )
    await tg.tap(LAN, "lf:now")
    for n in range(3):
        tg.fake.send_photo(LAN, f"NA-PHOTO-{n}")
    await tg.settle()
    assert said(
        texts(tg.new_messages(LAN)),
        "Photo {count} of at most {max} received. Send another, or tap Done.",
        count=3,
    )
    await tg.tap(LAN, "lf:done")
    await tg.tap(LAN, "lf:c:ocop4")
    await tg.tap(LAN, "lf:c:done")
    await tg.tap(LAN, "lf:skip")
    summary = await tg.tap(LAN, "lf:skip")
    card = summary[-1]
    assert card.get("photo") and "45.000\xa0₫/kg" in card["caption"]  # photo with caption
    assert "OCOP 4 sao" in card["caption"] and "lf:ok" in payloads([card])

    await tg.tap(LAN, "lf:e:price")
    again = await tg.text(LAN, "50.000")
    assert "50.000\xa0₫/kg" in texts(again)

    update_id = tg.fake.send_callback(LAN, "lf:ok")
    await tg.settle()
    assert said(
        texts(tg.new_messages(LAN)),
        "Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:",
    )
    tg.fake.redeliver(update_id)  # Telegram sends the same press again after a crash
    await tg.settle()
    assert tg.new_messages(LAN) == []
    # The press was answered the first time and is not answered again.
    assert tg.fake.violations == []
    assert tg.app is not None
    [listing] = tg.app.services.listings.all()
    assert listing.photos == [f"tg:NA-PHOTO-{n}" for n in range(3)]
    assert (listing.price, listing.certs.ocop, listing.quantity) == (50000, 4, "200")

    await tg.restart()
    mine = await tg.text(LAN, "/tindang")
    assert "Na Chi Lăng" in texts(mine) and f"lst:v:{listing.id}" in payloads(mine)
    [doc] = await tg.tap(LAN, "lm:csv")
    assert doc["document"]["file_name"] == "tin-dang.csv"

    await tg.text(LAN, "/menu")
    await tg.tap(LAN, "mylistings")
    await tg.tap(LAN, f"lst:v:{listing.id}")
    share = await tg.tap(LAN, f"lst:sh:{listing.id}")
    assert f"/p/{listing.slug}" in texts(share)
    post = await tg.tap(LAN, f"lst:po:{listing.id}:facebook")
    assert "#NaChiLang" in texts(post) and "50.000\xa0₫/kg" in texts(post)
    tg.fake.send_callback(LAN, f"lst:qr:{listing.id}", message_id=share[-1]["message_id"])
    await tg.settle()
    qr = tg.new_messages(LAN)  # pressed under the share message, above the post
    assert qr[-1].get("photo") and f"/p/{listing.slug}" in qr[-1]["caption"]

    await tg.onboard(HOA, name="Hoa", phone="+84987654321")
    tg.fake.send_callback(HOA, f"lst:ef:{listing.id}:price", check=False)  # a forged button
    await tg.settle()
    assert said(texts(tg.new_messages(HOA)), "Sorry, you can only manage your own listings.")
    assert tg.app.services.listings.get(listing.id).price == 50000  # type: ignore[union-attr]
    assert tg.fake.unanswered_callbacks() == []
