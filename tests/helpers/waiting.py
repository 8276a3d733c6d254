"""Waiting on an explicit signal (a counter, the fake server's log), never on elapsed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Yield to the bot until `check()` holds; past `timeout` fail saying what was awaited."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.005)  # lets the bot's tasks run; the check is the signal
