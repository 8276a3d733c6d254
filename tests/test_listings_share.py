"""What a listing becomes outside the chat: posts, the marketplace CSV, its public page, its QR."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.__main__ import main
from bot.app import BotApp
from bot.server import build_web_app
from bot.services.deeplinks import DeepLinks
from bot.services.listings import PAUSED, SOLD_OUT, Certs
from bot.services.share import PLATFORMS, Catalogs, post_text, qr_code, qr_png
from tests.helpers.driver import make_app
from tests.helpers.msgids import said
from tests.listings_helpers import FARMER_KEY, farmer, stored, user_id

BASE = "https://nongdanso.example.vn"
NAME = 'Na Chi Lăng <loại 1> & "ngon"'


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[BotApp]:
    """A bot whose public address is set, as in production."""
    bot = make_app(tmp_path / "data", public_base_url=BASE + "/")
    yield bot
    await bot.stop()


@pytest.fixture
async def web(shop: BotApp) -> AsyncIterator[TestClient]:
    """An HTTP client on the bot's real web app."""
    async with TestClient(TestServer(build_web_app(shop, None))) as client:
        yield client


def cats(app: BotApp) -> Catalogs:
    return Catalogs(app.services.products, app.services.areas)


async def test_share_posts_for_each_platform(shop: BotApp) -> None:
    chat = await farmer(shop)
    [listing] = stored(
        shop, user_id(shop, FARMER_KEY), certs=Certs(ocop=4, number="OCOP-17"), grade="loại 1"
    )
    await chat.tap(f"lst:sh:{listing.id}")
    assert f"{BASE}/p/{listing.slug}" in chat.text()
    assert f"MUA {listing.slug}" in chat.text()  # the code to type on Zalo
    assert [p for _l, p in chat.buttons()][:3] == [
        f"lst:po:{listing.id}:zalo",
        f"lst:po:{listing.id}:facebook",
        f"lst:po:{listing.id}:tiktok",
    ]
    posts = {}
    for platform in PLATFORMS:
        await chat.tap(f"lst:po:{listing.id}:{platform}")
        [reply] = chat.last
        assert reply.buttons == []  # nothing but the text to copy
        posts[platform] = chat.text()
    for platform, post in posts.items():
        assert "Na Chi Lăng 1 (loại 1)" in post, platform
        assert "45.000\xa0₫/kg" in post and "Xã Chi Lăng, Lạng Sơn" in post
        assert "OCOP 4 sao" in post and f"{BASE}/p/{listing.slug}" in post
        assert f"MUA {listing.slug}" in post, platform
        assert "#NaChiLang" in post and "#LangSon" in post and "#OCOP" in post
        assert "0912" not in post  # her phone only when she chose to show it
    assert "OCOP-17" in posts["facebook"]

    await chat.tap(f"lst:ph:{listing.id}")
    assert chat.said("Buyers will see your phone number.")
    await chat.tap(f"lst:po:{listing.id}:zalo")
    assert chat.said("Call/Zalo: {phone}", phone="0912 345 678"), chat.text()


def test_posts_stay_within_each_platforms_limit(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data")
    try:
        [listing] = stored(app, 1, product_id="", product_name=NAME, description="Ngọt. " * 400)
        links = DeepLinks(BASE, telegram_username="nongdanso_bot")
        listing.certs = Certs(ocop=5, vietgap=True, globalgap=True, organic=True, number="X" * 60)
        for platform, limit in PLATFORMS.items():
            post = post_text(platform, listing, cats(app), links, "0912 345 678")
            assert len(post) <= min(limit, 4096), platform  # also one Telegram message
            assert NAME in post and post.endswith("#GlobalGAP"), platform  # hashtags kept
        tiktok = post_text("tiktok", listing, cats(app), links)
        assert tiktok.count("#") <= 5
    finally:
        app.store.close()


async def test_csv_export_for_marketplaces(shop: BotApp) -> None:
    chat = await farmer(shop)
    farmer_id = user_id(shop, FARMER_KEY)
    [first] = stored(
        shop,
        farmer_id,
        photos=["media:abc.jpg", "tg:FILE1"],
        certs=Certs(ocop=4, vietgap=True, number="OCOP-17"),
        description='=HYPERLINK("x")',
    )
    [second] = stored(shop, farmer_id, product_id="", product_name=NAME, unit="hộp", price=120000)
    stored(shop, user_id(shop, FARMER_KEY) + 99)  # someone else's: not in her file
    await chat.tap("mylistings")
    await chat.tap("lm:csv")
    [reply] = chat.last
    assert reply.document is not None
    name, data = reply.document
    assert name == "tin-dang.csv" and data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:9] == [
        "Tên sản phẩm",
        "Danh mục",
        "Giá (VNĐ)",
        "Đơn vị",
        "Tồn kho",
        "Mô tả",
        "Xuất xứ",
        "Chứng nhận",
        "Ảnh",
    ]
    assert len(rows) == 3
    by_id = {row[-1]: row for row in rows[1:]}
    row = by_id[str(first.id)]
    assert row[:5] == ["Na Chi Lăng 1", "Trái cây", "45000", "kg", "100"]
    assert row[5] == '\'=HYPERLINK("x")'  # never run as a spreadsheet formula
    assert row[6] == "Xã Chi Lăng, Lạng Sơn" and row[7] == "OCOP 4 sao, VietGAP (OCOP-17)"
    page = f"{BASE}/p/{first.slug}"
    assert row[8] == f"{page}/photo/0 | {page}/photo/1"
    assert row[9] == "đang bán" and row[10] == page
    other = by_id[str(second.id)]
    assert other[:4] == [NAME, "", "120000", "hộp"]


def test_admin_cli_exports_every_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    app = make_app(data)
    stored(app, 1, 2)
    stored(app, 2, 1, status=PAUSED)
    app.store.close()
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    monkeypatch.chdir(tmp_path)  # no stray .env
    out = tmp_path / "all.csv"
    assert main(["listings", "export", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 4 and [r[9] for r in rows[1:]] == ["đang bán", "đang bán", "tạm dừng"]
    assert rows[3][10].startswith(f"{BASE}/p/") and rows[3][11] == "3"


async def test_qr_code_in_chat_points_at_the_public_page(shop: BotApp) -> None:
    chat = await farmer(shop)
    [listing] = stored(shop, user_id(shop, FARMER_KEY))
    await chat.tap(f"lst:qr:{listing.id}")
    [reply] = chat.last
    assert reply.photos == [f"media:qr-{listing.id}.png"]
    png = (shop.settings.data_dir / "media" / f"qr-{listing.id}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    url = f"{BASE}/p/{listing.slug}"
    assert url in chat.text()
    assert png == qr_png(url) and png != qr_png(url + "0")  # it encodes exactly this URL
    assert not qr_code(url).is_micro and qr_code(url).error in ("M", "Q", "H")  # survives print


async def test_public_page_shows_the_product_and_no_personal_data(
    shop: BotApp,
    web: TestClient,
) -> None:
    await farmer(shop)
    farmer_id = user_id(shop, FARMER_KEY)
    [listing] = stored(
        shop,
        farmer_id,
        product_name=NAME,
        description="<script>alert(1)</script>",
        certs=Certs(ocop=4, vietgap=True, number="OCOP-17"),
        availability="tháng 8–9",
        photos=["media:abc.jpg", "tg:FILE1"],
    )
    resp = await web.get(f"/p/{listing.slug}")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert "Na Chi Lăng &lt;loại 1&gt; &amp; &quot;ngon&quot;" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "OCOP 4 sao, VietGAP" in page and "OCOP-17" in page and "tháng 8–9" in page
    assert "Xã Chi Lăng, Lạng Sơn" in page and "45.000\xa0₫/kg" in page
    assert f'src="/p/{listing.slug}/photo/0"' in page and "FILE1" not in page
    assert f'src="/p/{listing.slug}/photo/1"' in page  # a Telegram photo, fetched when asked
    assert 'name="viewport"' in page and 'lang="vi"' in page
    assert "0912" not in page and "Lan" not in page.replace("Lạng", "")  # no name, no phone
    assert f'src="/p/{listing.slug}/qr.png"' in page
    assert f'href="/?start=p_{listing.slug}"' in page  # order in the web chat
    assert f"MUA {listing.slug}" in page  # or type the code on Zalo
    assert "t.me/" not in page  # no Telegram bot configured: no Telegram link

    listing.show_phone = True
    shop.services.listings.save(listing)
    page = await (await web.get(f"/p/{listing.slug}")).text()
    assert "0912 345 678" in page and 'href="tel:0912345678"' in page


async def test_public_page_of_paused_sold_out_and_deleted_listings(
    shop: BotApp,
    web: TestClient,
) -> None:
    paused, sold, gone = stored(shop, 1, 3)
    for listing, status in ((paused, PAUSED), (sold, SOLD_OUT)):
        listing.status = status
        shop.services.listings.save(listing)
    page = await (await web.get(f"/p/{paused.slug}")).text()
    assert said(page, "Paused for now: not taking orders.") and "?start=" not in page
    assert f'href="/p/{gone.slug}"' in page  # the same product, still on sale
    assert said(await (await web.get(f"/p/{sold.slug}")).text(), "Sold out.")
    shop.services.listings.delete(gone.id)
    for path in (f"/p/{gone.slug}", f"/p/{gone.id}", "/p/999", "/p/abc", f"/p/{gone.slug}/qr.png"):
        resp = await web.get(path)
        assert resp.status == 404, path
    assert said(await (await web.get("/p/999")).text(), "Product not found")
    english = await (await web.get(f"/p/{sold.slug}?lang=en")).text()
    assert "Sold out" in english and 'lang="en"' in english


async def test_qr_png_route(shop: BotApp, web: TestClient) -> None:
    [listing] = stored(shop, 1)
    resp = await web.get(f"/p/{listing.slug}/qr.png")
    assert resp.status == 200 and resp.content_type == "image/png"
    assert (await resp.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_forged_share_and_qr_are_refused(
    shop: BotApp, caplog: pytest.LogCaptureFixture
) -> None:
    await farmer(shop)
    [listing] = stored(shop, user_id(shop, FARMER_KEY))
    other = await farmer(shop, "web:farmer2", "Hoa")
    with caplog.at_level(logging.WARNING):
        await other.tap(f"lst:po:{listing.id}:zalo")
    assert (
        other.said("Sorry, you can only manage your own listings.")
        and "#NaChiLang" not in other.text()
    )
    assert "belongs to user" in caplog.text
