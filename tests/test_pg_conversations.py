"""A chosen set of the end-to-end conversation tests, run again on PostgreSQL.

The same test functions as on the embedded store, handed an app whose store is a fresh
PostgreSQL database (pool and change feed started, as `make run` does with DATABASE_URL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from tests import test_onboarding
from tests.helpers.driver import make_app


@pytest.fixture
async def pg_app(tmp_path: Path, clock: FakeClock, pg_url: str) -> AsyncIterator[BotApp]:
    bot = make_app(tmp_path / "data", clock, database_url=pg_url)
    await bot.open()
    yield bot
    await bot.stop()


async def test_onboarding_by_buttons(pg_app: BotApp) -> None:
    await test_onboarding.test_onboarding_by_buttons(pg_app)
