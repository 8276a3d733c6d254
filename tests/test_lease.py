"""The clocks and long polling run in exactly one process, chosen by a lease in the database."""

from __future__ import annotations

import asyncio
import contextlib

from bot.lease import run_leased
from bot.storage.pg import PgStore
from tests.helpers.waiting import wait_until


class Work:
    """Records whether the leased work runs in one process."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0

    async def begin(self) -> None:
        self.running = True
        self.starts += 1

    async def end(self) -> None:
        self.running = False


async def test_only_one_process_runs_the_work_and_another_takes_over_a_dead_holder(
    two_pg_stores: tuple[PgStore, PgStore],
) -> None:
    first, second = two_pg_stores
    assert await first.take_lease("jobs", ttl=1.0)  # the first holds it, then "dies" silently
    assert not await second.take_lease("jobs", ttl=1.0)
    work = Work()
    task = asyncio.create_task(
        run_leased(second, "jobs", work.begin, work.end, ttl=1.0, renew=0.1)
    )
    try:
        await asyncio.sleep(0.3)
        assert not work.running  # the first's lease has not expired yet
        await wait_until(lambda: work.running, "the second takes the lapsed lease over")
        assert not await first.take_lease("jobs", ttl=1.0)  # the first cannot come back
        assert work.starts == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not work.running
    assert await first.take_lease("jobs", ttl=1.0)  # released at the stop: free at once


async def test_a_holder_that_cannot_renew_stops_the_work(
    two_pg_stores: tuple[PgStore, PgStore],
) -> None:
    first, second = two_pg_stores
    work = Work()
    task = asyncio.create_task(run_leased(first, "jobs", work.begin, work.end, ttl=5.0, renew=0.1))
    try:
        await wait_until(lambda: work.running, "the work starts")
        async with second._connection() as conn:  # another holder took it (an expired lease)
            await conn.execute("UPDATE leases SET holder = 'someone-else'")
        await wait_until(lambda: not work.running, "the work stops once the lease is lost")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
