"""Several real bot processes on one PostgreSQL database, behind a loopback round-robin.

Each process is `python -m bot` with its own DATA_DIR and WEB_PORT, the same DATABASE_URL, and
Telegram in webhook mode against the fake Bot API the test runs. The test plays Telegram and
the load balancer: it posts each update to one process's webhook (`post`, or `next_process`
for plain round-robin). Every process logs to its own file, shown when a wait fails.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
from aiohttp import ClientError, ClientSession, ClientTimeout

from tests.fakes.telegram_api import FakeTelegram
from tests.helpers.scripts import Reference, Step, Tally, masked, tally, transcript, update_for

WEBHOOK_URL = "https://bot.example.vn/webhooks/telegram"  # Telegram's view; the fake accepts it
WEBHOOK_SECRET = "multiproc-webhook-secret-0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Variables a bot process inherits from the test's environment; everything else is set here.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "TZ")
STARTUP_TIMEOUT = 60.0  # seconds for a process to answer /healthz (2 busy cores)
STOP_TIMEOUT = 20.0
LOG_TAIL = 60  # lines of each process's log shown in a failure message


def free_port() -> int:
    """A port nobody listens on now (a race with other programs is possible, and unlikely)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    """One `python -m bot` subprocess: its port, data dir and log file."""

    def __init__(self, name: str, base: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.data_dir = base / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = base / f"{name}.log"
        self.port = free_port()
        self.env = {
            **env,
            "DATA_DIR": str(self.data_dir),
            "WEB_PORT": str(self.port),
        }
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/telegram"

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def spawn(self) -> None:
        """Start the process (cwd: its data dir, so no developer .env is read)."""
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.data_dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of pytest does not reach it twice
            )

    def kill(self) -> None:
        """SIGKILL, as a machine or container dying would; waits until it is gone."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(timeout=STOP_TIMEOUT)

    async def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL if it does not end in time."""
        popen = self.popen
        if popen is None or popen.poll() is not None:
            return
        popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while popen.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if popen.poll() is None:
            popen.kill()
            await asyncio.to_thread(popen.wait, STOP_TIMEOUT)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL) -> str:
        tail = self.log_text().splitlines()[-lines:]
        state = "running" if self.alive else f"exited {self.popen and self.popen.returncode}"
        return "\n".join(
            [f"--- {self.name} (pid {self.popen and self.popen.pid}, {state})", *tail]
        )


class BotCluster:
    """N bot processes on one database, fed Telegram updates by the test."""

    def __init__(
        self,
        base: Path,
        database_url: str,
        fake: FakeTelegram,
        count: int = 2,
        **settings: str,
    ) -> None:
        self.fake = fake
        self.base = base
        self.database_url = database_url
        self.env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        self.env.update(
            {
                "DATABASE_URL": database_url,
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_API_BASE_URL": fake.base_url,
                "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
                **settings,
            }
        )
        self.processes = [BotProcess(f"bot{n}", base, self.env) for n in range(count)]
        self._turn = 0
        self._session: ClientSession | None = None

    async def __aenter__(self) -> BotCluster:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start every process and wait until each answers /healthz."""
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        try:
            for process in self.processes:
                process.spawn()
            for process in self.processes:
                await self.wait_healthy(process)
        except BaseException:
            await self.stop()
            raise

    async def add(self) -> BotProcess:
        """Start one more process (a replacement after a kill), healthy when this returns."""
        process = BotProcess(f"bot{len(self.processes)}", self.base, self.env)
        self.processes.append(process)
        process.spawn()
        await self.wait_healthy(process)
        return process

    async def stop(self) -> None:
        """Stop every process gracefully (SIGTERM), as a deploy would."""
        await asyncio.gather(*(p.stop() for p in self.processes))
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def alive(self) -> list[BotProcess]:
        return [p for p in self.processes if p.alive]

    def logs(self) -> str:
        """Every process's log tail, for failure messages."""
        return "\n".join(p.log_tail() for p in self.processes)

    # --- health --------------------------------------------------------------------------

    async def health(self, process: BotProcess) -> int | None:
        """The status /healthz answers (200, 503), or None when the process does not answer."""
        assert self._session is not None
        try:
            async with self._session.get(
                f"{process.url}/healthz", timeout=ClientTimeout(total=5)
            ) as response:
                return response.status
        except (ClientError, TimeoutError, OSError):
            return None

    async def wait_healthy(self, process: BotProcess, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until the process answers /healthz with 200 (its database reachable)."""

        async def ok() -> bool:
            assert process.alive, f"{process.name} exited\n{process.log_tail()}"
            return await self.health(process) == 200

        await self.until(ok, f"{process.name} to answer /healthz 200", timeout)

    # --- feeding updates -----------------------------------------------------------------

    def next_process(self) -> BotProcess:
        """Round-robin over the live processes."""
        alive = self.alive
        assert alive, "no bot process is running\n" + self.logs()
        process = alive[self._turn % len(alive)]
        self._turn += 1
        return process

    async def post(self, update: dict[str, Any], to: BotProcess | None = None) -> int:
        """POST an update to a process's webhook as Telegram does (200 expected); its id.

        Without `to`, the next live process gets it; one that died meanwhile is skipped, as a
        load balancer's health check would.
        """
        update = self.fake.updates.assign_id(update)
        assert self._session is not None
        while True:
            target = to or self.next_process()
            try:
                async with self._session.post(
                    target.webhook, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}
                ) as response:
                    body = await response.text()
            except ClientError:
                if to is not None or target.alive:
                    raise
                continue
            assert response.status == 200, f"{target.name} answered {response.status}: {body}"
            return int(update["update_id"])

    # --- waiting -------------------------------------------------------------------------

    async def until(self, check: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
        """Wait until `check()` (sync or async) holds; past `timeout` fail with the logs."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout}s for {what}\n{self.logs()}")
            await asyncio.sleep(0.02)

    async def lease_holder(self, name: str = "jobs") -> BotProcess | None:
        """The live process holding the lease `name` now, per the `leases` table."""
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute(
                "SELECT holder FROM leases WHERE name = %s AND expires_at > now()", (name,)
            )
            row = await cur.fetchone()
        if row is None:
            return None
        pid = int(str(row[0]).split(":")[1])  # the holder is "host:pid:object"
        return next((p for p in self.alive if p.pid == pid), None)


async def play(
    bots: BotCluster,
    steps: Sequence[Step],
    chats: Sequence[int],
    expected: Reference,
    route: Callable[[int], BotProcess],
    timeout: float = 30.0,
    again: Callable[[int], BotProcess | None] = lambda n: None,
) -> None:
    """Post each step to `route(step number)` and wait for exactly the replies it must get.

    `expected` is the same script played on one in-process bot (scripts.reference): after
    each step every chat must show as many messages and edits as there (more is a doubled
    reply), and at the end the same texts, numbers aside. When `again(step number)` names a
    process, the same update (same update_id) goes to it too at the same moment, as Telegram
    redelivers an update whose webhook call timed out: it must be handled once.
    """
    fake = bots.fake
    base = [tally(fake, chat) for chat in chats]
    for n, step in enumerate(steps):
        chat = chats[step.who]
        try:
            update = fake.updates.assign_id(update_for(fake, chats, step))
        except AssertionError as exc:  # the last reply is not what the script expects
            raise AssertionError(
                f"step {n} ({step}): {exc}\n{fake.chat_log(chat)}\n{bots.logs()}"
            ) from exc
        twin = again(n)
        await asyncio.gather(
            bots.post(update, to=route(n)), *([bots.post(update, to=twin)] if twin else [])
        )
        want = [_plus(base[i], expected.after[n][i]) for i in range(len(chats))]

        def arrived(want: list[Tally] = want, what: str = f"step {n} ({step})") -> bool:
            now = [tally(fake, c) for c in chats]
            for have, need, c in zip(now, want, chats, strict=True):
                if have[0] > need[0] or have[1] > need[1]:
                    raise AssertionError(
                        f"{what}: chat {c} got {have} (sent, edited), expected "
                        f"{need}: a reply was doubled\n{fake.chat_log(c)}\n{bots.logs()}"
                    )
            return now == want

        await bots.until(
            arrived,
            f"the replies to step {n} ({step}) in chat {chat}\n{fake.chat_log(chat)}",
            timeout,
        )
    for i, chat in enumerate(chats[: len(expected.transcripts)]):
        said = masked(transcript(fake, chat)[base[i][0] :])
        if said != expected.transcripts[i]:
            diff = difflib.unified_diff(expected.transcripts[i], said, "one process", "these")
            raise AssertionError(f"chat {chat} differs:\n" + "\n".join(diff))


def _plus(a: Tally, b: Tally) -> Tally:
    return a[0] + b[0], a[1] + b[1]
