"""Shared fixtures: a bot app on a temp data dir, a controllable clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.i18n import load_catalogs
from tests.fakes.fixtures import fake_telegram
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers.driver import make_app
from tests.helpers.pg_fixtures import backend, mark_pg, pg_cluster, pg_url, two_pg_stores
from tests.helpers.telegram import TelegramBot

__all__ = ["backend", "fake_telegram", "pg_cluster", "pg_url", "two_pg_stores"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_pg(items)


@pytest.fixture(autouse=True, scope="session")
def _catalogs() -> None:
    load_catalogs()


class _Undeclared(logging.Handler):
    """Collects the engine's refusals of moves a flow did not declare."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "undeclared move" in record.getMessage():
            self.seen.append(record.getMessage())


@pytest.fixture(autouse=True)
def _no_undeclared_moves(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every conversation a test drives stays within the moves its flows declared."""
    watcher = _Undeclared()
    engine_log = logging.getLogger("bot.core.engine")
    engine_log.addHandler(watcher)
    try:
        yield
    finally:
        engine_log.removeHandler(watcher)
    if "allow_undeclared" not in request.keywords:
        assert watcher.seen == [], watcher.seen


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
