"""Shared fixtures: a bot app on a temp data dir, a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.i18n import load_catalogs
from tests.helpers.driver import make_app


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
