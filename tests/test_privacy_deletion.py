"""Deleted means gone from disk: self-deletion and console deletion, compaction, media, pages."""

from __future__ import annotations

import asyncio
import logging
import re
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import pytest

from bot.app import BotApp
from bot.channels.zalo_common import publish_document
from bot.core.clock import FakeClock
from bot.services.listings import Listing
from bot.services.orders import CANCELLED
from bot.services.users import ADMIN
from bot.web.chat import COOKIE
from tests.console_helpers import (
    ADMIN_TG,
    Server,
    admin,
    client,
    csrf_of,
    person,
    running,
    sign_in,
    team_member,
)
from tests.helpers.disk import forms, leaks, phone_forms
from tests.helpers.driver import Chat, make_app
from tests.helpers.msgids import said

MAN = "Hoàng Thị Mận"  # a farmer with a listing, photos and orders
MAN_PHONE = "0938517246"
KHOA = "Đặng Văn Khoa"  # a buyer who ordered from her and from another farmer
KHOA_PHONE = "0976111222"
KHOA_ADDRESS = "17 Ngõ Bưởi Diễn, Kỳ Lừa"
TG_PHOTO = "AgACAgMANphotoOfMan42"  # a Telegram file_id of her listing photo
CACHED_BYTES = b"\xff\xd8\xff\xe0CACHED-PHOTO-OF-MAN-7f3a9c"
UPLOAD = "c0ffee15deadbeef0badf00d.jpg"  # a photo she uploaded in the web chat
UPLOAD_BYTES = b"\xff\xd8\xff\xe0UPLOADED-PHOTO-OF-MAN-91be42"


async def _listing_with_photos(farmer: Chat) -> int:
    """Mận posts Na Chi Lăng with a Telegram photo and an uploaded one, phone shown."""
    await farmer.tap("listings")
    await farmer.say("na chi lang")
    await farmer.say("loại 1")
    await farmer.say("200")
    await farmer.say("45k")
    await farmer.tap("lf:now")
    await farmer.photo(f"tg:{TG_PHOTO}")
    await farmer.photo(f"media:{UPLOAD}")
    await farmer.tap("lf:done")
    await farmer.tap("lf:c:done")
    await farmer.say("Na dai, ngọt đậm.")
    await farmer.tap("lf:phone")
    await farmer.tap("lf:ok")
    user = farmer.app.services.users.by_key(farmer.user_key)
    assert user is not None
    [listing] = farmer.app.services.listings.of_farmer(user.id)
    assert listing.photos == [f"tg:{TG_PHOTO}", f"media:{UPLOAD}"], listing.photos
    return listing.id


def _slug(app: BotApp, listing_id: int) -> str:
    """A listing's public slug (its page is /p/<slug>)."""
    listing = app.services.listings.get(listing_id)
    assert listing is not None
    return listing.slug


async def _order(buyer: Chat, listing_id: int, address: str) -> str:
    """The buyer orders 10 kg of a listing; returns the order code."""
    await buyer.tap("buy")
    await buyer.say("na chi lang")
    await buyer.tap(f"o:{listing_id}")
    await buyer.say("10 kg")
    await buyer.tap("nm:keep")
    await buyer.tap("ph:keep")
    await buyer.say(address)
    await buyer.tap("nt:skip")
    await buyer.tap("cf:yes")
    found = re.search(r"DH\d{4}-\d{4}", buyer.text())
    assert found, buyer.text()
    return found.group(0)


def _max_age(headers: Mapping[str, str]) -> int:
    """How long a response may be cached, in seconds (a missing header: forever, heuristically)."""
    found = re.search(r"max-age=(\d+)", headers.get("Cache-Control", ""))
    return int(found.group(1)) if found else 10**9


def _needles() -> dict[str, list[bytes]]:
    needles = {
        "name of Mận": forms(MAN),
        "name of Khoa": forms(KHOA),
        "address of Khoa": forms(KHOA_ADDRESS),
        "photo ref of Mận": [TG_PHOTO.encode()],
        "cached photo of Mận": [CACHED_BYTES],
        "uploaded photo of Mận": [UPLOAD_BYTES, UPLOAD.removesuffix(".jpg").encode()],
    }
    for label, phone in (("phone of Mận", MAN_PHONE), ("phone of Khoa", KHOA_PHONE)):
        needles[label] = [f.encode() for f in phone_forms(phone)]
    return needles


async def _delete(way: str, chat: Chat, http: aiohttp.ClientSession, server: Server) -> None:
    """The person deletes their own data in the chat, or an admin deletes them in the console."""
    if way == "self":
        await chat.say("/xoadulieu")
        await chat.tap("del:yes")
        assert chat.said("Your data has been deleted. Type /start if you want to begin again.")
    else:
        user = server.app.services.users.by_key(chat.user_key)
        assert user is not None
        after = await _console_delete(http, server, user.id)
        assert said(after, "Deleted."), after
    assert server.app.services.users.by_key(chat.user_key) is None


async def _console_delete(http: aiohttp.ClientSession, server: Server, user_id: int) -> str:
    """An admin opens the user, asks to delete, confirms; returns the page shown after."""
    async with http.get(f"{server.base}/console/users/{user_id}") as page:
        html = await page.text()
        assert f'href="/console/users/{user_id}/delete"' in html, html
    async with http.get(f"{server.base}/console/users/{user_id}/delete") as page:
        assert page.status == 200
        html = await page.text()
        assert said(html, "This cannot be undone."), html  # the confirmation says it is final
    url = f"{server.base}/console/users/{user_id}/delete"
    async with http.post(url, data={"csrf": csrf_of(html)}) as done:
        assert done.status == 200 and done.url.path == "/console/users", done.url
        return await done.text()


@pytest.mark.parametrize("farmer_way", ["self", "console"])
async def test_deleted_people_are_gone_from_every_file_within_a_minute(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture, farmer_way: str
) -> None:
    data = tmp_path / "d"
    async with running(data, clock) as server, client() as http:
        app: BotApp = server.app
        services = app.services
        media = data / "media"
        media.mkdir(parents=True, exist_ok=True)
        (media / UPLOAD).write_bytes(UPLOAD_BYTES)

        async def fetch(file_id: str) -> bytes:
            return CACHED_BYTES if file_id == TG_PHOTO else b""

        services.media.register("tg:", fetch)
        man = Chat(app, "web:man", MAN)
        await man.onboard(role="farmer", phone=MAN_PHONE)
        hoa = Chat(app, "web:hoa", "Lò Thị Hoa")
        await hoa.onboard(role="farmer", phone="0911000111")
        khoa = Chat(app, "web:khoa", KHOA)
        await khoa.onboard(role="buyer", phone=KHOA_PHONE, area="ky lua")
        tuan = Chat(app, "web:tuan", "Vi Văn Tuấn")
        await tuan.onboard(role="buyer", phone="0922000222")

        listing_id = await _listing_with_photos(man)
        slug = _slug(app, listing_id)  # public pages go by the listing's slug
        await man.tap(f"lst:qr:{listing_id}")
        assert (media / f"qr-{listing_id}.png").exists()
        async with http.get(f"{server.base}/p/{slug}/photo/0") as photo:
            assert await photo.read() == CACHED_BYTES  # now cached as media/cache-*
        async with http.get(f"{server.base}/p/{slug}") as page:
            assert page.status == 200 and "0938 517 246" in await page.text()
        async with http.get(f"{server.base}/media/{UPLOAD}") as photo:
            assert await photo.read() == UPLOAD_BYTES
            assert _max_age(photo.headers) <= 60  # what caches keep outlives the deletion
        hoa_listing = await _plain_listing(hoa)

        khoa_from_man = await _order(khoa, listing_id, KHOA_ADDRESS)
        khoa_from_hoa = await _order(khoa, hoa_listing, KHOA_ADDRESS)
        tuan_from_man = await _order(tuan, listing_id, "5 Lê Lợi, Lạng Sơn")
        order = services.orders.by_code(khoa_from_hoa)
        assert order is not None
        await hoa.tap(f"ord:ok:{order.id}")
        assert leaks(data, _needles()), "the test must see the values before the deletion"

        # The farmer goes first: the store is rewritten at once (the first in a minute).
        caplog.set_level(logging.INFO)
        admin(app)
        await sign_in(http, server, f"telegram:{ADMIN_TG}")
        compactions = services.store.engine.compactions
        ids = {u.ident[0]: u.id for u in services.users.all()}
        await _delete(farmer_way, man, http, server)
        await asyncio.wait_for(services.purger.settled(), 60)
        assert services.store.engine.compactions == compactions + 1

        # Then the buyer, the other way: that rewrite waits for the minute to pass.
        await _delete("self" if farmer_way == "console" else "console", khoa, http, server)
        assert services.users.by_key("web:khoa") is None
        assert services.purger.pending and services.purger.due_in() > 0
        clock.advance(seconds=60)
        services.purger.wake()
        await asyncio.wait_for(services.purger.settled(), 60)
        assert services.store.engine.compactions == compactions + 2

        # The audit line names who deleted whom by id, never what they were called.
        by_console = man if farmer_way == "console" else khoa
        audit = [r.getMessage() for r in caplog.records if "deleted user" in r.getMessage()]
        assert audit == [f"console: user {admin(app).id} deleted user {ids[by_console.user_key]}"]
        logged = "\n".join(r.getMessage() for r in caplog.records).encode()
        for label, values in _needles().items():
            assert not any(v in logged for v in values if len(v) > 6), label

        found = leaks(data, _needles())
        assert found == [], "\n".join(found)
        assert not list(media.glob("cache-*")) and not (media / f"qr-{listing_id}.png").exists()

        # Her public page is gone; pages that stay are cached a minute at most.
        for path in (f"/p/{slug}", f"/p/{slug}/qr.png", f"/p/{slug}/photo/0"):
            async with http.get(f"{server.base}{path}") as gone:
                assert gone.status == 404, path
        async with http.get(f"{server.base}/media/{UPLOAD}") as gone:
            assert gone.status == 404
        async with http.get(f"{server.base}/p/{_slug(app, hoa_listing)}") as page:
            assert page.status == 200
            assert _max_age(page.headers) <= 60

        # The other parties keep their orders, without the deleted person's details.
        await tuan.say("/donmua")
        assert any(tuan_from_man in label for label, _p in tuan.buttons()), tuan.text()
        cancelled = services.orders.by_code(tuan_from_man)
        assert cancelled is not None and cancelled.status == CANCELLED
        assert cancelled.farmer_id == 0 and cancelled.buyer_name == "Vi Văn Tuấn"
        kept = services.orders.by_code(khoa_from_hoa)
        assert kept is not None and kept.total == 450_000 and kept.product_name
        assert (kept.buyer_name, kept.phone, kept.address, kept.buyer_id) == ("", "", "", 0)
        await hoa.say("/donhang")
        await hoa.tap("s:confirmed")
        assert khoa_from_hoa in hoa.text() + str(hoa.buttons())
        assert services.orders.by_code(khoa_from_man) is not None


async def _plain_listing(farmer: Chat) -> int:
    """Another farmer's ordinary listing (no photos), stays on sale."""
    await farmer.tap("listings")
    await farmer.say("na chi lang")
    await farmer.say("loại 2")
    await farmer.say("300")
    await farmer.say("45k")
    await farmer.tap("lf:now")
    await farmer.tap("lf:skip")
    await farmer.tap("lf:c:done")
    await farmer.say("Na ngon.")
    await farmer.tap("lf:ok")
    user = farmer.app.services.users.by_key(farmer.user_key)
    assert user is not None
    [listing] = farmer.app.services.listings.of_farmer(user.id)
    return listing.id


def _png(marker: bytes) -> bytes:
    """A real 1x1 PNG carrying `marker` in a text chunk (uploads must be real images)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"tEXt", b"Comment\x00" + marker),
            chunk(b"IDAT", pixels),
            chunk(b"IEND", b""),
        ]
    )


async def test_console_delete_is_admin_only_confirmed_and_csrf_protected(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        app = server.app
        lan = person(app, "web:lan", "Lan")
        me = admin(app)
        team_member(app)
        async with client() as team:
            await sign_in(team, server, "telegram:222")
            async with team.get(f"{server.base}/console/users/{lan.id}/delete") as page:
                assert page.status == 403
                csrf = csrf_of(await page.text())  # the team member's own valid token
            url = f"{server.base}/console/users/{lan.id}/delete"
            async with team.post(url, data={"csrf": csrf}) as refused:
                assert refused.status == 403
        await sign_in(http, server, f"telegram:{ADMIN_TG}")
        async with http.post(url) as refused:
            assert refused.status == 403  # no CSRF token
        async with http.post(url, data={"csrf": "forged"}) as refused:
            assert refused.status == 403
        assert app.services.users.get(lan.id) is not None
        async with http.get(f"{server.base}/console/users/{me.id}") as page:
            assert "/delete" not in await page.text()  # one's own data goes from the chat
        async with http.get(f"{server.base}/console/users/{me.id}/delete") as page:
            assert page.status == 400
        async with http.get(f"{server.base}/console/users/999999/delete") as page:
            assert page.status == 404
        async with http.get(url) as page:  # the confirmation step changes nothing
            html = await page.text()
            assert "Lan" in html and app.services.users.get(lan.id) is not None
        async with http.post(url, data={"csrf": csrf_of(html)}) as done:
            assert done.url.path == "/console/users"
        assert app.services.users.get(lan.id) is None
        async with http.post(url, data={"csrf": csrf_of(html)}) as again:
            assert again.status == 404  # a second press (or a stale tab) finds nobody


async def test_a_create_and_delete_loop_compacts_at_most_once_a_minute(
    app: BotApp, clock: FakeClock
) -> None:
    purger = app.services.purger
    engine = app.store.engine
    # What a compaction killed mid-write left behind holds everyone too: it goes as well.
    leftover = app.settings.data_dir / "snap-00000001.jsonl.tmp"
    leftover.write_bytes(b"Ng\xc6\xb0\xe1\xbb\x9di 0")
    for i in range(5):
        chat = Chat(app, f"web:loop{i}", f"Người {i}")
        await chat.onboard(phone=f"09120000{i:02d}")
        await chat.say("/xoadulieu")
        await chat.tap("del:yes")
        await purger.run_due()
        clock.advance(seconds=5)
    assert engine.compactions == 1 and purger.runs == 1
    assert not leftover.exists()
    assert purger.pending and 0 < purger.due_in() <= 60
    clock.advance(seconds=40)
    assert await purger.run_due()
    assert engine.compactions == 2 and not purger.pending
    assert not await purger.run_due()  # nothing new was deleted


async def test_a_deletion_not_yet_compacted_at_a_crash_is_compacted_at_the_next_start(
    tmp_path: Path, clock: FakeClock
) -> None:
    data = tmp_path / "d"
    first = make_app(data, clock)
    chat = Chat(first, "web:man", MAN)
    await chat.onboard(phone=MAN_PHONE)
    await chat.say("/xoadulieu")
    await chat.tap("del:yes")
    first.store.close()  # the bot dies before its purge job ever ran
    assert leaks(data, {"name": forms(MAN)}), "the old segment still holds her name"
    second = make_app(data, clock)
    try:
        assert second.services.purger.pending
        job = asyncio.create_task(second.services.purger.job()())
        await asyncio.wait_for(second.services.purger.settled(), 60)
        assert leaks(data, {"name": forms(MAN), "phone": [MAN_PHONE[1:].encode()]}) == []
        job.cancel()
    finally:
        await second.stop()


async def test_uploads_and_exported_files_go_with_their_owner(
    tmp_path: Path, clock: FakeClock
) -> None:
    session = "ab" * 16
    async with running(tmp_path / "d", clock) as server:
        app = server.app
        media = tmp_path / "d" / "media"
        chat = Chat(app, f"web:{session}", MAN)
        await chat.onboard(phone=MAN_PHONE)
        await chat.tap("listings")
        for typed in ("na chi lang", "loại 1", "200", "45k"):
            await chat.say(typed)
        await chat.tap("lf:now")
        upload = _png(b"UPLOADED-MID-FORM-1b7c")
        jar = aiohttp.CookieJar(unsafe=True)
        jar.update_cookies({COOKIE: session})
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            form = aiohttp.FormData()
            form.add_field("photo", upload, filename="na.png", content_type="image/png")
            async with http.post(f"{server.base}/chat/api/photo", data=form) as sent:
                assert sent.status == 200
        assert len(list(media.iterdir())) == 1, "the upload is kept while the form is open"
        publish_document(media, server.base, "tin-dang.csv", b"Na;45000", f"web:{session}")
        other = publish_document(media, server.base, "x.csv", b"other", "zalo_bot:77")
        # She leaves in the middle of the form: the command drops the form's answers, but
        # the files made for her are still found by their names.
        await chat.say("/xoadulieu")
        await chat.tap("del:yes")
        left = [p.name for p in media.iterdir()]
        assert left == [other.rsplit("/", 1)[1]], left
        assert leaks(media, {"upload": [b"UPLOADED-MID-FORM-1b7c"]}) == []


async def test_a_half_filled_form_and_a_voice_question_lose_their_files_on_console_delete(
    app: BotApp,
) -> None:
    media = app.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    chat = Chat(app, "web:hanh", "Hạnh")
    await chat.onboard()
    (media / "form-photo.jpg").write_bytes(b"\xff\xd8\xffFORM")
    await chat.tap("listings")
    for typed in ("na chi lang", "loại 1", "200", "45k"):
        await chat.say(typed)
    await chat.tap("lf:now")
    await chat.photo("media:form-photo.jpg")
    voice = app.services.media.cache_path("tg:VOICE-OF-HANH")
    voice.write_bytes(b"OggS-voice")
    user = app.services.users.by_key("web:hanh")
    assert user is not None
    app.services.handoffs.log(user, "", "2026-11-26T08:00:00+00:00", "voice", "tg:VOICE-OF-HANH")
    app.services.delete_user(user)  # what the console does, while her form is half filled
    assert list(media.iterdir()) == []


async def test_an_admin_deleted_while_editing_a_farmers_photos_leaves_them_alone(
    app: BotApp,
) -> None:
    media = app.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    (media / "hers.jpg").write_bytes(b"\xff\xd8\xffHERS")
    farmer = Chat(app, "web:farmer", "Lan")
    await farmer.onboard()
    owner = app.services.users.by_key("web:farmer")
    assert owner is not None
    listing = app.services.listings.add(
        Listing(farmer_id=owner.id, product_name="Na", price=45000, photos=["media:hers.jpg"])
    )
    staff = Chat(app, "web:staff", "Quản trị")
    await staff.onboard()
    user = app.services.users.by_key("web:staff")
    assert user is not None
    user.roles.append(ADMIN)
    app.services.users.save(user)
    await staff.tap(f"lst:ef:{listing.id}:photos")  # the admin is changing her photos...
    assert app.services.conversations.get(user.id).data.get("photos") == ["media:hers.jpg"]
    app.services.delete_user(user)  # ...when another admin deletes them
    assert (media / "hers.jpg").exists()
    assert app.services.listings.get(listing.id) is not None


async def test_a_bot_stopped_within_the_minute_compacts_before_it_exits(
    tmp_path: Path, clock: FakeClock
) -> None:
    data = tmp_path / "d"
    app = make_app(data, clock)
    first = Chat(app, "web:first", "Lò Văn Một")
    await first.onboard(phone="0911222333")
    await first.say("/xoadulieu")
    await first.tap("del:yes")
    assert await app.services.purger.run_due()
    chat = Chat(app, "web:man", MAN)
    await chat.onboard(phone=MAN_PHONE)
    await chat.say("/xoadulieu")
    await chat.tap("del:yes")
    assert app.services.purger.pending and app.services.purger.due_in() > 0
    await app.stop()  # e.g. to copy DATA_DIR somewhere: she must not be in that copy
    assert leaks(data, {"name": forms(MAN), "phone": [MAN_PHONE[1:].encode()]}) == []
    again = make_app(data, clock)
    try:
        assert not again.services.purger.pending  # nothing left to do at the next start
    finally:
        await again.stop()
