"""The open market page /cho: search without accents, filters, pages of 20, small and cached."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.app import BotApp
from bot.server import build_web_app
from bot.services.listings import PAUSED, Certs, Listing
from bot.services.thumbs import MAX_BYTES, thumbnail
from tests.helpers.driver import make_app

NAME = 'Na <b>"ngon"</b> & ngọt'


def _add(app: BotApp, n: int, **fields: object) -> list[Listing]:
    made = []
    for i in range(n):
        listing = Listing(
            farmer_id=1,
            area="chi-lang",
            product_id="na-chi-lang",
            product_name="Na Chi Lăng",
            quantity="100",
            stock="100",
            price=45000 + i,
        )
        for key, value in fields.items():
            setattr(listing, key, value)
        made.append(app.services.listings.add(listing))
    return made


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[BotApp]:
    bot = make_app(tmp_path / "data", public_base_url="https://nongdanso.example.vn")
    yield bot
    await bot.stop()


@pytest.fixture
async def web(shop: BotApp) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_web_app(shop, None))) as client:
        yield client


def _cards(page: str) -> list[str]:
    return re.findall(r'<a class="t" href="/p/([A-Z0-9]{5})">', page)


async def test_search_without_accents_filters_and_pages(shop: BotApp, web: TestClient) -> None:
    na = _add(shop, 25)
    hong = _add(
        shop,
        3,
        area="van-lang",
        product_id="hong-vanh-khuyen-van-lang",
        product_name="Hồng vành khuyên",
        certs=Certs(vietgap=True),
    )
    _add(shop, 2, status=PAUSED)  # not on sale: never shown
    resp = await web.get("/cho")
    page = await resp.text()
    assert resp.status == 200 and "30 sản phẩm đang bán" not in page
    assert "28 sản phẩm đang bán" in page and len(_cards(page)) == 20
    assert "<script" not in page and not re.search(r'src="https?://', page)  # no JS, no CDN
    assert len(page.encode()) <= 50 * 1024
    second = await (await web.get("/cho?trang=2")).text()
    assert len(_cards(second)) == 8 and not set(_cards(second)) & set(_cards(page))

    found = await (await web.get("/cho", params={"q": "hong vanh khuyen"})).text()
    assert sorted(_cards(found)) == sorted(x.slug for x in hong)
    by_commune = await (await web.get("/cho?q=na+chi+lang&xa=chi-lang")).text()
    assert set(_cards(by_commune)) <= {x.slug for x in na} and len(_cards(by_commune)) == 20
    certified = await (await web.get("/cho?cn=vietgap")).text()
    assert sorted(_cards(certified)) == sorted(x.slug for x in hong)
    product = await (await web.get("/cho?sp=hong-vanh-khuyen-van-lang")).text()
    assert len(_cards(product)) == 3 and 'value="hong-vanh-khuyen-van-lang" selected' in product
    nothing = await (await web.get("/cho?q=mien+dong")).text()
    assert _cards(nothing) == [] and "Thử tên khác" in nothing

    commune = await web.get("/cho/van-lang")
    text = await commune.text()
    assert commune.status == 200 and "Văn Lãng" in text
    assert sorted(_cards(text)) == sorted(x.slug for x in hong)
    assert 'href="/?start=p_' in text  # each card's order link opens the web chat on it
    assert (await web.get("/cho/khong-co-xa-nay")).status == 404


async def test_bad_input_is_ignored_and_names_are_escaped(shop: BotApp, web: TestClient) -> None:
    [listing] = _add(shop, 1, product_id="", product_name=NAME)
    for query in (
        "?trang=-3",
        "?trang=abc",
        "?trang=99999999999",
        "?sp=../../etc",
        "?xa=<script>",
        "?cn=x",
        "?q=" + "a" * 5000,
        "?q=%F0%9F%8D%8E%3Cb%3E",
    ):
        resp = await web.get("/cho" + query)
        assert resp.status == 200, query
        assert "<script>" not in await resp.text()
    page = await (await web.get("/cho")).text()
    assert "Na &lt;b&gt;&quot;ngon&quot;&lt;/b&gt; &amp; ngọt" in page and "<b>" not in page
    assert listing.slug in page


async def test_pages_are_cached_until_a_listing_changes(shop: BotApp, web: TestClient) -> None:
    [listing] = _add(shop, 1)
    first = await (await web.get("/cho")).read()
    assert await (await web.get("/cho")).read() is not None
    market = next(r.handler.__self__ for r in web.app.router.routes() if "/cho" in str(r))
    offers = shop.services.listings.offers
    version = offers.version
    assert market.render("", {}, "vi") == first and offers.version == version  # from memory
    listing.price = 52000
    shop.services.listings.save(listing)
    changed = await (await web.get("/cho")).text()
    assert "52.000" in changed  # a saved listing shows at once


async def test_thumbnails_are_small_jpegs(shop: BotApp, web: TestClient) -> None:
    media = shop.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    big = Image.effect_noise((2400, 1800), 90).convert("RGB")
    out = io.BytesIO()
    big.save(out, "JPEG", quality=95)
    (media / "big.jpg").write_bytes(out.getvalue())
    (media / "broken.jpg").write_bytes(b"not an image")
    [listing] = _add(shop, 1, photos=["media:big.jpg"])
    [broken] = _add(shop, 1, photos=["media:broken.jpg"])
    page = await (await web.get("/cho")).text()
    [src] = re.findall(rf'src="(/p/{listing.slug}/thumb\.jpg\?v=\w+)"', page)
    resp = await web.get(src)
    data = await resp.read()
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    assert len(out.getvalue()) > 1_000_000 and len(data) <= MAX_BYTES
    assert max(Image.open(io.BytesIO(data)).size) <= 320
    assert "max-age=60" in resp.headers["Cache-Control"]
    assert (await web.get(f"/p/{broken.slug}/thumb.jpg")).status == 404
    assert (await web.get("/p/ZZZZ9/thumb.jpg")).status == 404
    assert thumbnail(b"\x89PNG\r\n\x1a\n" + b"\0" * 100) is None


async def test_a_deleted_farmers_thumbnails_go_with_her_photos(
    shop: BotApp, web: TestClient
) -> None:
    farmer = shop.services.users.create("web:lan", "Lan", "2026-11-01T08:00:00+07:00")
    media = shop.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "#8a6").save(out, "JPEG")
    (media / "na.jpg").write_bytes(out.getvalue())
    [listing] = _add(shop, 1, farmer_id=farmer.id, photos=["media:na.jpg"])
    assert (await web.get(f"/p/{listing.slug}/thumb.jpg")).status == 200
    assert list(media.glob("thumb-*.jpg"))
    shop.services.delete_user(farmer)
    assert not list(media.glob("thumb-*.jpg")) and not (media / "na.jpg").exists()
    assert (await web.get(f"/p/{listing.slug}/thumb.jpg")).status == 404


async def test_every_public_route_with_personal_media_is_cached_a_minute_at_most(
    shop: BotApp, web: TestClient
) -> None:
    """A deletion takes effect within a minute: no public copy of someone's media outlives it."""
    services = shop.services
    now = "2026-11-01T08:00:00+07:00"
    farmer = services.users.create("web:lan", "Lan", now)
    buyer = services.users.create("web:khoa", "Khoa", now)
    media = shop.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 160, 40)).save(out, "JPEG")
    (media / "lan.jpg").write_bytes(out.getvalue())
    (media / "lan-voice.ogg").write_bytes(b"OggS" + b"\0" * 60)
    [listing] = _add(shop, 1, farmer_id=farmer.id, photos=["media:lan.jpg"])
    handoff = services.handoffs.log(farmer, "", now, "voice", "media:lan-voice.ogg")
    order = services.orders.place(
        listing.id,
        buyer,
        Decimal(1),
        name="Khoa",
        phone="0912345678",
        address="5 Lê Lợi",
        note="",
        form_id="f1",
        now=datetime.fromisoformat(now),
    )
    routes = [
        "/media/lan.jpg",
        f"/audio/{handoff.media_token}",
        f"/p/{listing.slug}",
        f"/p/{listing.slug}/photo/0",
        f"/p/{listing.slug}/thumb.jpg",
        f"/p/{listing.slug}/qr.png",
        "/cho",
        "/cho/chi-lang",
        f"/d/{order.token}",
    ]
    for route in routes:
        resp = await web.get(route)
        assert resp.status == 200, route
        cache = resp.headers.get("Cache-Control", "")
        found = re.search(r"max-age=(\d+)", cache)
        assert "no-store" in cache or (found and int(found.group(1)) <= 60), (route, cache)
        assert "immutable" not in cache, (route, cache)
