"""Photo uploads from the web chat: only when asked for, real images only, capped, swept."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from PIL import Image

from bot.core.clock import FakeClock
from bot.core.media import thumb_name
from bot.services.file_ids import FileIds
from bot.services.media_sweep import sweep_media
from tests.helpers.msgids import said
from tests.webchat_helpers import jpeg, registered, web_chat

NOT_ASKED = "I was not asking for a photo just now, so I did not keep this one."
NOT_A_PHOTO = "That file is not a photo I can open. Please send a photo (JPEG, PNG or WebP)."
WAIT_MINUTES = (
    "You have sent a lot in a short time. Please wait about {minutes} minutes, then send again."
)


def media_files(data_dir: Path) -> list[Path]:
    media = data_dir / "media"
    return sorted(media.iterdir()) if media.is_dir() else []


def bomb_png(side: int = 30_000) -> bytes:
    """A tiny PNG that claims a huge black 1-bit image (a decompression bomb)."""
    raw = zlib.compress(b"".join(b"\x00" + bytes(side // 8) for _ in range(side)), 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    )


async def test_a_photo_nobody_asked_for_is_refused_and_not_kept(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        visitor = browser()
        await visitor.open()
        await visitor.say("/start")
        assert await visitor.upload(jpeg()) == 200
        assert said(visitor.text(), NOT_ASKED), visitor.text()
        farmer = await registered(app, browser())
        await farmer.upload(jpeg())  # at the main menu: no step asks for a photo
        assert said(farmer.text(), NOT_ASKED), farmer.text()
        assert media_files(tmp_path / "d") == []


async def test_a_photo_at_the_listing_photo_step_is_reencoded_small_and_clean(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        farmer = await registered(app, browser())
        await farmer.to_listing_photos()
        assert await farmer.upload(jpeg(3200, 2000, exif=True), "IMG_0001.png") == 200
        assert "1" in farmer.text() and "lf:done" in farmer.payloads(), farmer.text()
        [stored] = media_files(tmp_path / "d")
        assert stored.suffix == ".jpg"
        data = stored.read_bytes()
        assert b"SecretCam" not in data and b"21.85N" not in data
        with Image.open(stored) as image:
            assert image.format == "JPEG"
            assert max(image.size) <= 1600 and image.size == (1600, 1000)
            assert not image.getexif()


async def test_fake_or_monstrous_images_get_a_friendly_refusal(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        farmer = await registered(app, browser())
        await farmer.to_listing_photos()
        fakes = [
            b"\xff\xd8\xff\xe0" + os.urandom(4000),  # JPEG magic, then noise
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            bomb_png(),
            jpeg()[:200],  # a truncated JPEG
        ]
        for fake in fakes:
            assert await farmer.upload(fake) == 200
            assert said(farmer.text(), NOT_A_PHOTO), farmer.text()
            assert "lf:skip" in farmer.payloads()  # the question stands, nothing was added
        assert media_files(tmp_path / "d") == []
        assert await farmer.upload(jpeg()) == 200
        assert len(media_files(tmp_path / "d")) == 1


async def test_upload_bytes_are_capped_per_session_and_per_address(
    tmp_path: Path, clock: FakeClock
) -> None:
    photo = jpeg(800, 600)
    cap = 3 * len(photo) + 100
    settings = {
        "webchat_session_upload_bytes_per_hour": cap,
        "webchat_address_upload_bytes_per_hour": 10 * cap,
        "trusted_proxies": ("127.0.0.1",),
    }
    async with web_chat(tmp_path / "d", clock, **settings) as (app, browser):
        farmer = await registered(app, browser("203.0.113.7"))
        await farmer.to_listing_photos()
        for _ in range(3):
            assert await farmer.upload(photo) == 200
        assert await farmer.upload(photo) == 429
        assert said(farmer.text(), WAIT_MINUTES), farmer.text()
        assert len(media_files(tmp_path / "d")) == 3
        clock.advance(hours=1)  # a new hour: the allowance is back
        await farmer.tap("lf:clear")
        assert await farmer.upload(photo) == 200
        assert len(media_files(tmp_path / "d")) == 4


async def test_one_address_is_capped_even_for_registered_users(
    tmp_path: Path, clock: FakeClock
) -> None:
    photo = jpeg(800, 600)
    cap = len(photo) + 100  # one photo per session and hour, ten per address
    settings = {
        "webchat_session_upload_bytes_per_hour": cap,
        "webchat_address_upload_bytes_per_hour": 10 * cap,
        "trusted_proxies": ("127.0.0.1",),
    }
    async with web_chat(tmp_path / "d", clock, **settings) as (app, browser):
        codes = []
        for i in range(11):  # accounts made to get round the per-session cap
            farmer = await registered(app, browser("203.0.113.7"), name=f"Lan {i}")
            await farmer.to_listing_photos()
            codes.append(await farmer.upload(photo))
        assert codes == [200] * 10 + [429], codes
        elsewhere = await registered(app, browser("203.0.113.8"), name="Hoa")
        await elsewhere.to_listing_photos()
        assert await elsewhere.upload(photo) == 200
        assert len(media_files(tmp_path / "d")) == 11


async def test_unreferenced_media_is_swept_after_a_grace_period(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        farmer = await registered(app, browser())
        await farmer.to_listing_photos()
        await farmer.upload(jpeg())  # referenced by the half-filled form
        [in_form] = media_files(tmp_path / "d")
        services = app.services
        media = tmp_path / "d" / "media"
        names = {
            kind: media / f"{os.urandom(12).hex()}.jpg"
            for kind in (
                "listing",
                "handoff",
                "broadcast",
                "outbox",
                "suspended",
                "orphan_old",
                "orphan_new",
            )
        }
        names["orphan_old"] = media / f"up-{'a' * 12}-{os.urandom(12).hex()}.jpg"
        # Voice notes (web chat recordings): one a question for the team plays, one nobody uses.
        names["voice_used"] = media / f"up-{'b' * 12}-voice-{os.urandom(12).hex()}.webm"
        names["voice_orphan"] = media / f"up-{'b' * 12}-voice-{os.urandom(12).hex()}.ogg"
        for path in names.values():
            path.write_bytes(jpeg())
        lan = services.users.all()[0]
        from tests.listings_helpers import stored

        stored(app, lan.id, photos=[f"media:{names['listing'].name}"])
        services.handoffs.log(
            lan, "", clock.now().isoformat(), "voice", f"media:{names['handoff'].name}"
        )
        services.store.table("broadcasts").insert(
            {"status": "sent", "photo": f"media:{names['broadcast'].name}"}
        )
        services.store.table("outbox").insert(
            {"broadcast_id": 1, "status": "pending", "photo": f"media:{names['outbox'].name}"}
        )
        services.store.table("suspended_forms").insert(
            {"user_id": lan.id, "data": {"photos": [f"media:{names['suspended'].name}"]}}
        )
        services.handoffs.log(
            lan, "", clock.now().isoformat(), "voice", f"media:{names['voice_used'].name}"
        )
        # The market's small copies: one of a listed photo, one of a photo no listing has now.
        thumb_used = media / thumb_name(f"media:{names['listing'].name}")
        thumb_orphan = media / thumb_name(f"media:{os.urandom(12).hex()}.jpg")
        # Telegram's file_id cache names a file by its ref plus a version: not a reference.
        FileIds(services.store, media).put(f"media:{names['orphan_old'].name}@1:2", "AgACid")
        cache = media / ("cache-" + "0" * 32 + ".jpg")  # a platform photo's copy: not ours
        cache.write_bytes(b"x")
        torn = media / f".{os.urandom(12).hex()}.jpg.4242.tmp"  # a crash while writing one
        torn.write_bytes(b"x")
        old = clock.now().timestamp() - 3 * 86400
        for path in [thumb_used, thumb_orphan]:
            path.write_bytes(jpeg())
        for path in [*names.values(), in_form, cache, torn, thumb_used, thumb_orphan]:
            os.utime(path, (old, old))
        fresh = clock.now().timestamp() - 60
        os.utime(names["orphan_new"], (fresh, fresh))

        removed = sweep_media(services, clock.now().timestamp())

        assert removed == 4
        left = {p.name for p in media_files(tmp_path / "d")}
        gone = [names["orphan_old"], names["voice_orphan"], torn, thumb_orphan]
        assert not {p.name for p in gone} & left, left
        kept = ("listing", "handoff", "broadcast", "outbox", "suspended", "voice_used")
        assert {names[k].name for k in (*kept, "orphan_new")} <= left, left
        assert in_form.name in left and cache.name in left and thumb_used.name in left
        assert any(getattr(job, "__name__", "") == "media_sweeper" for job in services.jobs)
