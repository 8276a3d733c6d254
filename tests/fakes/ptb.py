"""Running a python-telegram-bot Application against the fake in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application


@asynccontextmanager
async def polling(app: Application[Any, Any, Any, Any, Any, Any]) -> AsyncIterator[None]:
    """Run an Application with fast long polling for the duration of the block."""
    updater = app.updater
    assert updater is not None, "build the Application with an updater to poll"
    await app.initialize()
    await app.start()
    await updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield
    finally:
        await updater.stop()
        await app.stop()
        await app.shutdown()
