"""Zalo Official Account end to end: the whole bot against the fake OA API, driven by users."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.zalo_common import ZaloError
from bot.channels.zalo_oa import ZaloOAChannel
from bot.channels.zalo_oa_state import FREE_MESSAGES, OutsideWindow
from bot.core.clock import FakeClock
from bot.core.types import Button, Reply
from bot.services.users import User
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA
from tests.helpers.msgids import (
    ASK_AREA,
    ASK_HOW_TO_CALL,
    ASK_NAME,
    ASK_PRODUCT,
    PHOTO_RECEIVED,
    said,
)
from tests.zalo_helpers import OAUser, ZaloBot, start_zalo_bot, zalo

__all__ = ["zalo"]


async def onboard(user: OAUser, phone: str = "0912345678", greet: bool = True) -> str:
    """Register a farmer on the OA; the last answer (the main menu)."""
    if greet:
        await user.say("Xin chào")
    await user.say("Lan")
    await user.choose("Anh Lan")
    await user.say(phone)
    await user.say("chi lang")
    await user.choose("bán")
    await user.choose("Na Chi")
    await user.choose("Xong")
    return await user.choose("Có")


def store_user(zalo: ZaloBot, user_id: str) -> User | None:
    return zalo.app.services.users.by_key(f"zalo_oa:{user_id}")


async def test_onboarding_menu_and_listing(zalo: ZaloBot) -> None:
    user = OAUser(zalo, "u1")
    first = await user.say("Xin chào")
    assert "Nông Dân Số" in first and said(first, "What is your name?")
    menu = await onboard(user, greet=False)
    assert said(menu, "<b>Main menu</b>\n{You_name}, what would you like to do?")
    # Five menu entries are template buttons; the rest are numbered lines to type.
    assert len(user.buttons()) == 5 and said(user.buttons()[0], "📝 Sell a product")
    assert "\n6. " in menu
    registered = zalo.app.services.users.by_key("zalo_oa:u1")
    assert registered is not None and registered.registered and registered.phone == "+84912345678"
    # A listing: buttons tapped, numbers and words typed.
    assert said(await user.choose("Đăng bán"), ASK_PRODUCT)
    await user.say("na chi lang")
    await user.say("loại 1")
    await user.say("200")
    await user.say("45k")
    await user.choose("Đang có")
    got = await user.send(
        zalo.oa_fake.event(
            "user_send_image",
            "u1",
            text="",
            attachments=[{"type": "image", "payload": {"url": "https://zalo.example/na.jpg"}}],
        )
    )
    assert said(got, PHOTO_RECEIVED, count=1), got
    await user.choose("Xong")
    await user.choose("Xong")  # no certification
    await user.say("Na dai, ngọt đậm.")
    summary = zalo.oa_fake.texts("u1")[-1]
    assert "45.000" in summary and "Na Chi Lăng" in summary
    done = await user.choose("Xác nhận")
    assert said(done, "Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:")
    listings = zalo.app.services.listings.of_farmer(registered.id)
    assert [(li.price, li.photos) for li in listings] == [(45000, ["https://zalo.example/na.jpg"])]


async def test_typed_number_presses_a_button_beyond_five(zalo: ZaloBot) -> None:
    user = OAUser(zalo, "u2")
    await onboard(user)
    answer = await user.say("8")  # "8. Hồ sơ của tôi", a numbered line beyond the buttons
    assert "Lan" in answer and "0912 345 678" in answer


async def test_forged_or_missing_signature_is_refused(zalo: ZaloBot) -> None:
    fake = zalo.oa_fake
    event = fake.event("user_send_text", "intruder", text="Xin chào")
    assert await fake.deliver(event, signature=None) == 401
    assert await fake.deliver(event, signature="0" * 64) == 401
    other_key = fake.sign(json.dumps(event).encode(), event["timestamp"]).replace("a", "b")
    assert await fake.deliver(event, signature=other_key) == 401
    await zalo.oa.idle()
    assert store_user(zalo, "intruder") is None and fake.sent == []
    # The same event, correctly signed ("mac=" prefix accepted), goes through.
    assert await fake.deliver(event, prefix="mac=") == 200
    await zalo.oa.idle()
    assert said("\n".join(fake.texts("intruder")), ASK_NAME)  # welcomed; a record once they answer


async def test_body_changed_after_signing_is_refused(zalo: ZaloBot) -> None:
    fake = zalo.oa_fake
    event = fake.event("user_send_text", "u3", text="Xin chào")
    signature = fake.sign(json.dumps(event).encode(), event["timestamp"])
    event["message"]["text"] = "/start"
    assert await fake.deliver(event, signature=signature) == 401


async def test_redelivered_event_is_handled_once(zalo: ZaloBot) -> None:
    user = OAUser(zalo, "u4")
    await user.say("Xin chào")
    event = await zalo.oa_fake.say("u4", "Lan")
    await user.answer()
    asked_phone = len(zalo.oa_fake.sent)
    assert await zalo.oa_fake.deliver(event) == 200  # Zalo retries the same msg_id
    assert await zalo.oa_fake.deliver(event) == 200
    await zalo.oa.idle()
    assert len(zalo.oa_fake.sent) == asked_phone
    await user.say("chị")
    assert said(await user.say("0912345678"), ASK_AREA)


async def test_expired_token_is_refreshed_once_and_the_send_retried(
    zalo: ZaloBot, clock: FakeClock
) -> None:
    fake = zalo.oa_fake
    assert fake.refreshes == 1  # the configured pair's age is unknown: renewed at start-up
    user = OAUser(zalo, "u5")
    await user.say("Xin chào")
    fake.expire_token()  # removed early (Zalo answers -220)
    answer = await user.say("Lan")
    assert said(answer, ASK_HOW_TO_CALL, name="Lan"), answer
    assert fake.refreshes == 2 and fake.rejected_sends == 1
    assert fake.errors == []
    stored = json.loads((zalo.app.settings.data_dir / "zalo_oa_token.json").read_text())
    assert stored == {
        "access_token": fake.access_token,
        "refresh_token": fake.refresh_token,
        "expires_at": clock.now().timestamp() + 90_000,  # "expires_in": "90000"
        "configured": "refresh-1",  # the configured pair it replaced
    }
    await user.say("chị")
    await user.say("0912345678")
    assert fake.refreshes == 2  # the new token keeps working


async def test_renewed_token_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    data = tmp_path / "data"
    async with FakeZaloOA(clock=clock.now) as oa_fake, FakeZaloBot() as bot_fake:
        configured = (oa_fake.access_token, oa_fake.refresh_token)
        zalo = await start_zalo_bot(data, clock, oa_fake, bot_fake)
        await OAUser(zalo, "u6").say("Xin chào")
        oa_fake.expire_token()
        await OAUser(zalo, "u6").say("Lan")
        await OAUser(zalo, "u6").say("chị")
        await zalo.app.stop()
        # Restarted with the old (spent) pair still in the environment: the stored pair wins.
        zalo = await start_zalo_bot(
            data,
            clock,
            oa_fake,
            bot_fake,
            zalo_oa_access_token=configured[0],
            zalo_oa_refresh_token=configured[1],
        )
        oa_fake.expire_token()
        answer = await OAUser(zalo, "u6").say("0912345678")
        await zalo.app.stop()
        assert said(answer, ASK_AREA), answer
        # At start-up, on -220, and on -220 after the restart (which renewed nothing itself).
        assert oa_fake.refreshes == 3 and oa_fake.violations == []


async def test_long_reply_is_split_at_sentences(zalo: ZaloBot) -> None:
    await OAUser(zalo, "u7").say("Xin chào")
    sentence = "Bà con nhớ kiểm tra kỹ thông tin người mua trước khi giao hàng. "
    await zalo.oa.send("u7", [Reply(sentence * 70, buttons=[[Button("OK", "sys:menu")]])])
    texts = zalo.oa_fake.texts("u7")[-3:]
    assert [len(t) <= 2000 for t in texts] == [True, True, True]
    assert all(t.endswith("giao hàng.") for t in texts)
    assert "".join(t + " " for t in texts) == sentence * 70
    assert zalo.oa_fake.buttons("u7")[0]["payload"] == "#nds:sys:menu"


async def test_48_hour_window(zalo: ZaloBot, clock: FakeClock) -> None:
    user = OAUser(zalo, "u8")
    await onboard(user)
    oa: ZaloOAChannel = zalo.oa
    assert oa.can_reach("zalo_oa:u8") and not oa.can_reach("zalo_oa:stranger")
    clock.advance(hours=47)
    await oa.send("u8", [Reply("Còn trong 48 giờ.")])
    clock.advance(hours=2)
    assert not oa.can_reach("zalo_oa:u8")
    sent = len(zalo.oa_fake.sent)
    with pytest.raises(OutsideWindow, match="48 hours"):
        await oa.send("u8", [Reply("Quá hạn.")])
    registered = zalo.app.services.users.by_key("zalo_oa:u8")
    assert registered is not None
    notified = await zalo.app.services.notifier.notify(registered, lambda: [Reply("Tin mới")])
    assert not notified and len(zalo.oa_fake.sent) == sent  # skipped, nothing went out
    # Writing again opens a new window with the free quota.
    await user.say("menu")
    for i in range(FREE_MESSAGES - 2):  # the menu answer used one
        await oa.send("u8", [Reply(f"Tin {i}")])
    sent = len(zalo.oa_fake.sent)
    with pytest.raises(OutsideWindow, match="8 messages"):  # a photo and its text: 2 messages
        await oa.send("u8", [Reply("Ảnh na", photos=["https://zalo.example/na.jpg"])])
    assert len(zalo.oa_fake.sent) == sent  # all or nothing
    await oa.send("u8", [Reply("Tin cuối.")])
    with pytest.raises(OutsideWindow, match="8 messages"):
        await oa.send("u8", [Reply("Một tin quá nhiều.")])


async def test_unfollow_stops_notifications_and_follow_restores(zalo: ZaloBot) -> None:
    user = OAUser(zalo, "u9")
    await onboard(user)
    await user.send(zalo.oa_fake.event("unfollow", "u9"))
    registered = zalo.app.services.users.by_key("zalo_oa:u9")
    assert registered is not None and registered.blocked
    assert not await zalo.app.services.notifier.notify(registered, lambda: [Reply("Tin")])
    await user.send(zalo.oa_fake.event("follow", "u9"))
    registered = zalo.app.services.users.by_key("zalo_oa:u9")
    assert registered is not None and not registered.blocked


async def test_location_sticker_and_audio_are_understood(zalo: ZaloBot) -> None:
    user = OAUser(zalo, "u10")
    await user.say("Xin chào")
    coords = {"coordinates": {"latitude": "21.85", "longitude": "106.76"}}
    for event in (
        zalo.oa_fake.event(
            "user_send_location", "u10", attachments=[{"type": "location", "payload": coords}]
        ),
        zalo.oa_fake.event(
            "user_send_sticker", "u10", attachments=[{"type": "sticker", "payload": {}}]
        ),
        zalo.oa_fake.event(
            "user_send_audio",
            "u10",
            attachments=[{"type": "audio", "payload": {"url": "https://z/a.aac"}}],
        ),
    ):
        answer = await user.send(event)
        assert said(answer, "Please type your name in letters."), answer  # asked again
    assert not zalo.oa_fake.violations


async def test_a_newly_configured_token_pair_wins_over_the_stored_one(
    tmp_path: Path, clock: FakeClock
) -> None:
    data = tmp_path / "data"
    async with FakeZaloOA(clock=clock.now) as oa_fake, FakeZaloBot() as bot_fake:
        zalo = await start_zalo_bot(data, clock, oa_fake, bot_fake)
        await OAUser(zalo, "u11").say("Xin chào")
        oa_fake.expire_token()
        await OAUser(zalo, "u11").say("Lan")  # renewed: the pair is stored
        await OAUser(zalo, "u11").say("chị")
        await zalo.app.stop()
        # The operator re-authorised the OA and put a brand-new pair in the environment.
        oa_fake.access_token, oa_fake.refresh_token = "access-new", "refresh-new"
        zalo = await start_zalo_bot(data, clock, oa_fake, bot_fake)
        answer = await OAUser(zalo, "u11").say("0912345678")
        await zalo.app.stop()
        # The new pair's age is unknown: renewed once at its start-up, like the first one.
        assert oa_fake.spent_refresh_tokens == ["refresh-1", "refresh-2", "refresh-new"]
        assert said(answer, ASK_AREA) and oa_fake.rejected_sends == 1


async def test_a_failed_renewal_is_not_retried_in_a_loop(zalo: ZaloBot) -> None:
    fake = zalo.oa_fake
    await OAUser(zalo, "u12").say("Xin chào")
    token_file = zalo.app.settings.data_dir / "zalo_oa_token.json"
    kept = token_file.read_text()
    fake.expire_token()
    fake.app_secret = "rotated-in-the-console"  # our secret no longer renews the token
    with pytest.raises(ZaloError, match="renewing the OA token failed"):
        await zalo.oa.send("u12", [Reply("Tin")])
    with pytest.raises(ZaloError, match="renewing the OA token failed: -14001 bad secret_key"):
        await zalo.oa.send("u12", [Reply("Tin")])  # refused again without asking Zalo again
    assert fake.rejected_sends == 2 and fake.refreshes == 1  # the start-up renewal only
    assert token_file.read_text() == kept
