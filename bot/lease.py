"""Work that runs in exactly one process at a time, chosen by a lease in the shared store.

The clocks (order reminders and expiry, sweeps, the broadcast outbox) and Telegram's long
polling must not run twice. With several processes on one database, each asks for the lease
every `RENEW_SECONDS`; the holder keeps it by renewing, and when it dies (no renewal for
`TTL_SECONDS`) another takes it over and starts the work. A holder that cannot renew (the
database unreachable) stops the work first, so two never run it at once for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.storage.db import Store

log = logging.getLogger(__name__)

TTL_SECONDS = 10.0
RENEW_SECONDS = 3.0


async def run_leased(
    store: Store,
    name: str,
    begin: Callable[[], Awaitable[None]],
    end: Callable[[], Awaitable[None]],
    *,
    ttl: float = TTL_SECONDS,
    renew: float = RENEW_SECONDS,
) -> None:
    """Run `begin` while this process holds the lease `name` and `end` when it loses it (forever)."""
    held = False
    try:
        while True:
            try:
                now_held = await store.take_lease(name, ttl)
            except Exception as exc:  # the database is away: not ours any more
                log.warning("cannot renew the %s lease: %s", name, type(exc).__name__)
                now_held = False
            if now_held and not held:
                log.info("this process now runs %s", name)
                await begin()
            elif held and not now_held:
                log.warning("lost the %s lease; stopping it here", name)
                await end()
            held = now_held
            await asyncio.sleep(renew)
    finally:
        if held:
            await end()
            with contextlib.suppress(Exception):
                await store.release_lease(name)
