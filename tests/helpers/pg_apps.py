"""Bot apps on PostgreSQL for the conversation tests: each as one bot process would run it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.core.clock import FakeClock
from tests.helpers.driver import make_app


class PgApps:
    """Opens bot apps on one database (pool and change feed started, as `make run` does)."""

    def __init__(self, base: Path, clock: FakeClock, url: str, stack: AsyncExitStack) -> None:
        self._base, self._clock, self._url, self._stack = base, clock, url, stack
        self._count = 0

    async def open(self) -> BotApp:
        self._count += 1
        app = make_app(self._base / f"data{self._count}", self._clock, database_url=self._url)
        self._stack.push_async_callback(app.stop)
        await app.open()
        return app


@pytest.fixture
async def pg_apps(tmp_path: Path, clock: FakeClock, pg_url: str) -> AsyncIterator[PgApps]:
    """Opens apps on one fresh database; all stop after the test."""
    async with AsyncExitStack() as stack:
        yield PgApps(tmp_path, clock, pg_url, stack)


@pytest.fixture
async def pg_app(pg_apps: PgApps) -> BotApp:
    """One bot app on a fresh PostgreSQL database."""
    return await pg_apps.open()


@pytest.fixture
async def two_apps(pg_apps: PgApps) -> tuple[BotApp, BotApp]:
    """Two bot processes' apps on one fresh database."""
    return await pg_apps.open(), await pg_apps.open()
