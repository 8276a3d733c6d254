"""Pytest fixtures for the fake Telegram server; import them into tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started fake Telegram Bot API server on a free loopback port."""
    async with FakeTelegram() as fake:
        yield fake
