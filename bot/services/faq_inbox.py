"""FAQ import/export requests handed to a running bot, so only one process writes the store.

Only for the embedded store, which the running bot holds locked; on PostgreSQL the command
line writes to the database itself (bot/faq_cli.py).

The command line drops a request file into DATA_DIR/inbox/faq/ (written to a temporary name,
then renamed, so the bot never sees half a file); the bot's job applies it and writes a
result file next to it, which the command line waits for and prints.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.private_files import write_private
from bot.services.faq import FaqRepo
from bot.services.faq_csv import FaqCsvError, parse_csv, write_csv
from bot.services.faq_seed import FaqSeed

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
IMPORT = ".import.csv"
EXPORT = ".export"
SEED = ".seed.json"
RESULT = ".result.json"
OUTPUT = ".out.csv"


def _atomic_write(path: Path, data: bytes) -> None:
    write_private(path, data, sync=True)  # the temp file's name starts with "."


class FaqInbox:
    """The request folder shared by the command line and the running bot."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "inbox" / "faq"

    def submit_import(self, data: bytes) -> str:
        """Queue a CSV for the running bot to import; return the request id."""
        rid = uuid.uuid4().hex[:12]
        _atomic_write(self.dir / f"{rid}{IMPORT}", data)
        return rid

    def submit_export(self) -> str:
        """Ask the running bot for an export; return the request id."""
        rid = uuid.uuid4().hex[:12]
        _atomic_write(self.dir / f"{rid}{EXPORT}", b"")
        return rid

    def submit_seed(self, action: str, keys: list[str]) -> str:
        """Ask the running bot to update from the seed ("update") or accept keys ("accept")."""
        rid = uuid.uuid4().hex[:12]
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.dir / f"{rid}{SEED}", json.dumps([action, keys]).encode())
        return rid

    def wait(self, rid: str, timeout: float) -> dict[str, Any] | None:
        """The bot's result for a request, or None if it did not come in time."""
        path = self.dir / f"{rid}{RESULT}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists():
                result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
                path.unlink()
                return result
            time.sleep(0.2)
        return None

    def withdraw(self, rid: str) -> None:
        """Take back a request nobody picked up (the bot is not running after all)."""
        for suffix in (IMPORT, EXPORT, SEED):
            (self.dir / f"{rid}{suffix}").unlink(missing_ok=True)

    def output(self, rid: str) -> Path:
        """Where the bot leaves an export's CSV."""
        return self.dir / f"{rid}{OUTPUT}"

    def process(self, repo: FaqRepo, now: str) -> int:
        """Apply every waiting request; return how many were handled."""
        if not self.dir.is_dir():
            return 0
        handled = 0
        for path in sorted(self.dir.iterdir()):
            name = path.name
            if name.startswith("."):
                continue
            if name.endswith(IMPORT):
                result = self._import(repo, path, now)
                rid = name.removesuffix(IMPORT)
            elif name.endswith(SEED):
                rid = name.removesuffix(SEED)
                try:
                    action, keys = json.loads(path.read_text(encoding="utf-8"))
                    result = seed_request(repo, str(action), [str(k) for k in keys], now)
                except (ValueError, TypeError):
                    result = {"error": "unreadable request"}
            elif name.endswith(EXPORT):
                rid = name.removesuffix(EXPORT)
                _atomic_write(self.output(rid), write_csv([e.row() for e in repo.all()]))
                result = {"ok": True, "count": len(repo)}
            else:
                continue
            _atomic_write(self.dir / f"{rid}{RESULT}", json.dumps(result).encode())
            path.unlink()
            handled += 1
        return handled

    def _import(self, repo: FaqRepo, path: Path, now: str) -> dict[str, Any]:
        try:
            parsed = parse_csv(path.read_bytes())
        except FaqCsvError as exc:
            return {"ok": False, "error": str(exc)}
        report = repo.import_rows(parsed.rows, now)
        report.errors[:0] = parsed.errors
        log.info("FAQ import from the command line: %s", report.summary())
        return {"ok": True, "summary": report.summary(), "errors": report.errors}

    def job(self, repo: FaqRepo, now: Callable[[], str]) -> Callable[[], Awaitable[None]]:
        """The bot's background loop that serves requests."""

        async def faq_inbox() -> None:
            while True:
                self.process(repo, now())
                await asyncio.sleep(POLL_SECONDS)

        return faq_inbox


def seed_request(repo: FaqRepo, action: str, keys: list[str], now: str) -> dict[str, Any]:
    """Run `faq update` or `faq accept` on a repo; the result as the command line prints it."""
    if repo.seed_path is None:
        return {"error": "no seed file configured"}
    seed = FaqSeed(repo, repo.seed_path)
    if action == "accept":
        if keys == ["all"]:
            keys = [c.key for c in seed.update(now).changed]
        return {"accepted": seed.accept(keys, now)}
    report = seed.update(now)
    if report.error:
        return {"error": report.error}
    return {
        "summary": report.summary(),
        "added": report.added,
        "changed": [{"key": c.key, "edited": c.edited} for c in report.changed],
    }
