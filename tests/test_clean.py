"""One cleaner for every typed value: nothing invisible or direction-changing is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import BotApp
from bot.server import build_web_app
from bot.text import clean
from tests.helpers.driver import make_app
from tests.listings_helpers import farmer

RLO, ZWSP, LRI, BOM = "\u202e", "\u200b", "\u2066", "\ufeff"
UNSEEN = (RLO, ZWSP, LRI, BOM, "\u202a", "\u200f", "\x07", "\x00", "\u00ad")


def test_clean_drops_controls_zero_width_and_bidi_characters() -> None:
    assert clean(f"  Na{RLO} Chi{ZWSP}\tLăng{LRI}\x07{BOM} ") == "Na Chi\tLăng".replace("\t", " ")
    assert clean("Cải\r\nngồng") == "Cải ngồng"  # one line unless asked
    assert clean('🍈 Na <b> & "ngon"') == '🍈 Na <b> & "ngon"'  # markup is escaped later
    assert clean("Ca\u0301i") == "Cái"  # composed, as other apps send it
    assert clean("") == "" and clean(RLO + ZWSP) == ""


def test_multiline_keeps_line_breaks_but_not_runs_of_empty_lines() -> None:
    typed = f"Ngọt{RLO} đậm  \r\n\r\n\r\n\u2028Quả to{ZWSP}\n  "
    assert clean(typed, multiline=True) == "Ngọt đậm\n\nQuả to"


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[BotApp]:
    bot = make_app(tmp_path / "data", public_base_url="https://nongdanso.example.vn/")
    yield bot
    await bot.stop()


async def test_a_direction_override_never_reaches_the_public_card(shop: BotApp) -> None:
    chat = await farmer(shop)
    await chat.tap("listings")
    await chat.say(f"Cải{RLO} ngồng{ZWSP} Lộc Bình")
    await chat.say(f"loại{LRI} 1")
    await chat.say("20 lít")
    await chat.say("30k")
    await chat.tap("lf:now")
    await chat.tap("lf:skip")
    await chat.tap("lf:c:none")
    await chat.say(f"Ngọt{RLO}\n\nmỗi ngày{BOM}")
    card = chat.text()
    await chat.tap("lf:ok")
    [listing] = shop.services.listings.all()
    assert (listing.product_name, listing.grade) == ("Cải ngồng Lộc Bình", "loại 1")
    assert listing.description == "Ngọt\n\nmỗi ngày"
    async with TestClient(TestServer(build_web_app(shop, None))) as web:
        page = await (await web.get(f"/p/{listing.slug}")).text()
    assert "Cải ngồng Lộc Bình" in page and "Cải ngồng Lộc Bình" in card
    for char in UNSEEN:
        assert char not in page and char not in card, repr(char)
