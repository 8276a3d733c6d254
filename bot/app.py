"""The running bot: one store, one engine, every configured channel, background jobs."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings
from bot.core.clock import Clock
from bot.core.engine import Engine
from bot.lease import run_leased
from bot.private_files import tighten
from bot.services.container import Services, build_services
from bot.storage import open_store
from handlers import build_flows
from handlers.requests import open_request

log = logging.getLogger(__name__)

# Python's default (700, 10, 10) runs a full collection every ~70,000 container allocations; a
# bot answering many users allocates that in a second or two, and each full pass walks every
# live object (indexes, caches). Collecting ~15x less often cut the bot's GC time by about that
# in bench/conversation.py; garbage cycles are rare here, so memory barely moves.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Set the process-wide GC thresholds a bot process runs with (its entry point calls this)."""
    gc.set_threshold(*GC_THRESHOLDS)


class BotApp:
    """Everything one bot process runs, started and stopped together."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.store = open_store(settings.data_dir, settings.database_url)
        tightened = tighten(settings.data_dir)
        if tightened:
            log.info("made %d files in %s private to the bot", tightened, settings.data_dir)
        self.services: Services = build_services(settings, self.store, clock)
        self.engine: Engine[Services] = Engine(
            self.services.engine_ports(), self.services, build_flows(), open_request
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._stoppers: list[Callable[[], Awaitable[None]]] = []
        self._leased_jobs: list[asyncio.Task[None]] = []

    @property
    def media_dir(self) -> Path:
        """Where media files are kept (MEDIA_DIR, shared by every process)."""
        return self.settings.media_dir

    def on_stop(self, stopper: Callable[[], Awaitable[None]]) -> None:
        """Run `stopper` when the app stops (channels register their shutdown)."""
        self._stoppers.append(stopper)

    async def open(self) -> None:
        """Start what the store runs in the event loop (PostgreSQL's pool and change feed)."""
        await self.store.start()

    def start_jobs(self) -> None:
        """Start the background jobs features registered (reminders, broadcast outbox...).

        With several processes on one database, only the holder of the "jobs" lease runs them;
        every process runs its `process_jobs` (they keep its own memory's views warm).
        """
        self._tasks.extend(self._job_tasks(self.services.process_jobs))
        if self.store.shared:
            self.run_leased("jobs", self._start_job_tasks, self._stop_job_tasks)
        else:
            self._tasks.extend(self._job_tasks(self.services.jobs))

    def run_leased(
        self, name: str, begin: Callable[[], Awaitable[None]], end: Callable[[], Awaitable[None]]
    ) -> None:
        """Run `begin`/`end` as this process gains/loses the lease `name` (see bot.lease)."""
        self._tasks.append(asyncio.create_task(run_leased(self.store, name, begin, end)))

    def _job_tasks(self, jobs: list[Callable[[], Awaitable[None]]]) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(_forever(job), name=getattr(job, "__name__", "job"))
            for job in jobs
        ]

    async def _start_job_tasks(self) -> None:
        self._leased_jobs = self._job_tasks(self.services.jobs)

    async def _stop_job_tasks(self) -> None:
        for task in self._leased_jobs:
            task.cancel()
        await asyncio.gather(*self._leased_jobs, return_exceptions=True)
        self._leased_jobs = []

    async def stop(self) -> None:
        """Stop channels and jobs, then close the store."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for stopper in reversed(self._stoppers):
            try:
                await stopper()
            except Exception:
                log.exception("error while stopping")
        self.services.purger.finish()  # a deletion still waiting for its compaction
        await self.store.stop()
        self.store.close()


async def _forever(job: Callable[[], Awaitable[None]]) -> None:
    """Run a job; if it crashes, log it and start it again a little later."""
    while True:
        try:
            await job()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job failed; restarting in 5 s")
            await asyncio.sleep(5)
