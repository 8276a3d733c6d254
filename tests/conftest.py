"""Shared fixtures: a bot app on a temp data dir, a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.i18n import load_catalogs
from tests.fakes.fixtures import fake_telegram
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers.driver import make_app
from tests.helpers.telegram import TelegramBot

__all__ = ["fake_telegram"]


@pytest.fixture(autouse=True, scope="session")
def _catalogs() -> None:
    load_catalogs()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock) -> AsyncIterator[BotApp]:
    bot = make_app(tmp_path / "data", clock)
    yield bot
    await bot.stop()


@pytest.fixture
async def tg(
    fake_telegram: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[TelegramBot]:
    """The whole bot on real python-telegram-bot against the fake Bot API, started."""
    bot = TelegramBot(fake_telegram, tmp_path / "tgdata", clock)
    await bot.start()
    yield bot
    await bot.stop()
    assert fake_telegram.violations == [], fake_telegram.violations
