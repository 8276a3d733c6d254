"""Zalo Bot end to end: the whole bot against the fake Zalo Bot API, by long polling or webhook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.types import Button, Reply
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA
from tests.helpers.msgids import (
    ASK_AREA,
    ASK_HOW_TO_CALL,
    ASK_NAME,
    ASK_PHONE_TYPED,
    ASK_PRODUCT,
    KG_OR_UNIT,
    PHOTO_RECEIVED,
    pattern,
    said,
)
from tests.zalo_helpers import BotUser, ZaloBot, start_zalo_bot, zalo

__all__ = ["zalo"]


async def onboard(user: BotUser, phone: str = "0987654321", greet: bool = True) -> str:
    """Register a farmer on the Zalo Bot by typing only; the last answer (the menu)."""
    if greet:
        await user.say("Xin chào")
    await user.say("Minh")
    await user.choose("Anh Minh")
    await user.say(phone)
    await user.say("chi lang")
    await user.choose("bán")
    await user.choose("Na Chi")
    await user.choose("Xong")
    return await user.choose("Có")


@pytest.mark.parametrize("photo_key", ["photo", "photo_url"])  # SDKs read either name
async def test_onboarding_menu_and_listing_by_typing(zalo: ZaloBot, photo_key: str) -> None:
    user = BotUser(zalo, "chat1")
    first = await user.say("Xin chào")
    assert "Nông Dân Số" in first and said(first, "What is your name?")
    use_name = pattern("Use: {name}", name="Nguyen Van A").pattern
    assert re.search(r"^1\. " + use_name, first, re.M), first  # as a numbered line
    menu = await onboard(user, greet=False)
    assert (
        said(menu, "<b>Main menu</b>\n{You_name}, what would you like to do?")
        and "Chia sẻ" not in menu
    )
    assert re.search(r"\n1\. " + pattern("📝 Sell a product").pattern, menu), menu
    registered = zalo.app.services.users.by_key("zalo_bot:chat1")
    assert registered is not None and registered.registered and registered.name == "Minh"
    assert said(await user.say("1"), ASK_PRODUCT)  # a digit picks the menu line
    await user.say("na chi lang")
    await user.say("loại 1")
    await user.say("2 tạ")
    asked = await user.say("45k")  # 45.000 ₫ a tạ would be 450 ₫ a kg: asked, not taken
    assert said(asked, KG_OR_UNIT, unit="tạ", per_kg="450\xa0₫"), asked
    await user.choose("một kg")
    await user.choose("Đang có")
    update = zalo.bot_fake.update(
        "chat1",
        event="message.image.received",
        caption="",
        **{photo_key: "https://zalo.example/na.jpg"},
    )
    assert said(await user.send(update), PHOTO_RECEIVED, count=1)
    await user.choose("Xong")
    await user.choose("Xong")
    await user.say("Na dai, ngọt đậm.")
    assert said(
        await user.choose("Xác nhận"),
        "Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:",
    )
    listings = zalo.app.services.listings.of_farmer(registered.id)
    assert [li.photos for li in listings] == [["https://zalo.example/na.jpg"]]
    assert zalo.bot_fake.calls.count("getUpdates") >= 1 and "setWebhook" not in zalo.bot_fake.calls


async def test_redelivered_message_is_handled_once(zalo: ZaloBot) -> None:
    user = BotUser(zalo, "chat2")
    await user.say("Xin chào")
    update = zalo.bot_fake.update("chat2", "Minh")
    asked = await user.send(update)
    assert said(asked, ASK_HOW_TO_CALL, name="Minh"), asked
    assert await user.send(update) == ""  # same message_id again: nothing happens
    assert said(await user.say("anh"), ASK_PHONE_TYPED)
    assert said(await user.say("0987654321"), ASK_AREA)


async def test_reply_longer_than_2000_is_split_at_sentences(zalo: ZaloBot) -> None:
    user = BotUser(zalo, "chat3")
    await user.say("Xin chào")
    sentence = "Bà con nhớ kiểm tra kỹ thông tin người mua trước khi giao hàng. "
    long = sentence * 70  # about 4,500 characters
    await zalo.zbot.send("chat3", [Reply(long, buttons=[[Button("Về menu", "sys:menu")]])])
    texts = zalo.bot_fake.texts("chat3")[-3:]
    assert all(len(t) <= 2000 for t in texts)
    assert all(t.rstrip().endswith(("giao hàng.", "1. Về menu")) for t in texts)
    assert "".join(texts).replace("\n\n1. Về menu", "").replace(" ", "") == long.replace(" ", "")
    assert texts[-1].endswith("1. Về menu")
    assert said(
        await user.say("1"), "<b>Main menu</b>\n{You_name}, what would you like to do?"
    )  # the numbered line presses the button


async def test_photos_go_by_url_and_other_platform_refs_are_skipped(zalo: ZaloBot) -> None:
    user = BotUser(zalo, "chat4")
    await user.say("Xin chào")
    await zalo.zbot.send(
        "chat4", [Reply("Ảnh", photos=["media:na.jpg", "tg:AgAD", "https://x/y.jpg"])]
    )
    photos = [s["photo"] for s in zalo.bot_fake.sent if s["method"] == "sendPhoto"]
    base = zalo.app.settings.base_url
    assert photos == [f"{base}/media/na.jpg", "https://x/y.jpg"]


async def test_documents_become_download_links(zalo: ZaloBot) -> None:
    await zalo.zbot.send("chat5", [Reply("Danh sách", document=("tin dang.csv", b"a,b\n1,2\n"))])
    text = zalo.bot_fake.texts("chat5")[-1]
    link = text.split(": ", 1)[1]
    assert text.startswith("Danh sách\n📎 tin dang.csv: ") and link.endswith("-tin_dang.csv")
    stored = zalo.app.media_dir / link.rsplit("/", 1)[1]
    assert stored.read_bytes() == b"a,b\n1,2\n"


async def test_unfollow_marks_the_user_unreachable(zalo: ZaloBot) -> None:
    user = BotUser(zalo, "chat6")
    await onboard(user)
    await user.send(zalo.bot_fake.update("chat6", event="user.unfollow"))
    registered = zalo.app.services.users.by_key("zalo_bot:chat6")
    assert registered is not None and registered.blocked
    assert not await zalo.app.services.notifier.notify(registered, lambda: [Reply("Tin")])
    await user.say("menu")  # writing again makes them reachable
    registered = zalo.app.services.users.by_key("zalo_bot:chat6")
    assert registered is not None and not registered.blocked


async def test_webhook_mode_checks_the_secret(tmp_path: Path, clock: FakeClock) -> None:
    secret = "s3cret-Zalo-bot"
    async with FakeZaloOA(clock=clock.now) as oa_fake, FakeZaloBot() as bot_fake:
        zalo = await start_zalo_bot(
            tmp_path / "data",
            clock,
            oa_fake,
            bot_fake,
            zalo_bot_webhook_secret=secret,
            public_base_url="https://nongdanso.example.vn",
        )
        try:
            assert bot_fake.webhook == {
                "url": "https://nongdanso.example.vn/webhooks/zalo-bot",
                "secret_token": secret,
            }
            url = f"http://127.0.0.1:{zalo.port}/webhooks/zalo-bot"
            update = bot_fake.update("chat7", "Xin chào")
            assert await bot_fake.post_webhook(url, update, None) == 401
            assert await bot_fake.post_webhook(url, update, "wrong-secret") == 401
            await zalo.zbot.idle()
            assert zalo.app.services.users.by_key("zalo_bot:chat7") is None
            assert await bot_fake.post_webhook(url, update, secret) == 200
            await zalo.zbot.idle()
            assert said(bot_fake.texts("chat7")[-1], ASK_NAME)
            assert "getUpdates" not in bot_fake.calls
        finally:
            await zalo.app.stop()
        assert bot_fake.violations == []


async def test_polling_goes_on_after_server_errors(zalo: ZaloBot) -> None:
    zalo.bot_fake.fail_updates = 2  # the Bot API answers getUpdates with errors for a while
    answer = await BotUser(zalo, "chat8").say("Xin chào")
    assert said(answer, "What is your name?") and zalo.bot_fake.fail_updates == 0


async def test_progress_updated_in_place_goes_out_once(zalo: ZaloBot) -> None:
    for done in (1, 2, 3):
        await zalo.zbot.send("chat9", [Reply(f"Thông báo #1: đã gửi {done}/3", edit_key="bc1")])
    await zalo.zbot.send("chat9", [Reply("Đã gửi xong.")])
    assert zalo.bot_fake.texts("chat9") == ["Thông báo #1: đã gửi 1/3", "Đã gửi xong."]
