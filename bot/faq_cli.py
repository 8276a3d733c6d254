"""`python -m bot faq import FILE` / `export FILE` / `update` / `accept KEY…`, running or not.

On PostgreSQL (DATABASE_URL) the store is opened here directly, bots running or not: the
database takes writes from every process and tells the running bots. On the embedded store
with the bot stopped it is opened here too; while the bot runs (the store is locked) the
request goes through DATA_DIR/inbox/faq and the bot applies it, so the running bot answers
from the new content at once and two processes never write the store.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.services.container import CONTENT_DIR
from bot.services.faq import FaqRepo
from bot.services.faq_csv import FaqCsvError, read_csv, write_csv
from bot.services.faq_inbox import FaqInbox, seed_request
from bot.storage import open_store
from bot.storage.db import StoreLocked

WAIT_SECONDS = 30.0


def run_faq(settings: Settings, action: str, file: Path) -> int:
    """Run one faq subcommand; return the process exit code."""
    if action == "import":
        try:
            parsed = read_csv(file)  # check the file before touching any store
        except FaqCsvError as exc:
            print(f"nongdanso: {file}: {exc}; nothing imported", file=sys.stderr)
            return 2
    try:
        store = open_store(settings.data_dir, settings.database_url)
    except StoreLocked:
        return _through_bot(settings, action, file)
    with store:
        repo = FaqRepo(store, CONTENT_DIR / "faq.csv")
        if action == "export":
            file.write_bytes(write_csv([e.row() for e in repo.all()]))
            print(f"exported {len(repo)} entries to {file}")
            return 0
        report = repo.import_rows(parsed.rows, now="")
        report.errors[:0] = parsed.errors
        return _print_report(report.summary(), report.errors)


def run_faq_seed(settings: Settings, action: str, keys: list[str]) -> int:
    """`faq update` (add new seed entries, list changed ones) or `faq accept KEY…|all`."""
    try:
        store = open_store(settings.data_dir, settings.database_url)
    except StoreLocked:
        inbox = FaqInbox(settings.data_dir)
        rid = inbox.submit_seed(action, keys)
        print("the bot is running; handing the request to it…", file=sys.stderr)
        result = inbox.wait(rid, WAIT_SECONDS)
        if result is None:
            inbox.withdraw(rid)
            print("nongdanso: the running bot did not answer; nothing changed", file=sys.stderr)
            return 1
        return _print_seed(result)
    with store:
        repo = FaqRepo(store, CONTENT_DIR / "faq.csv")
        return _print_seed(seed_request(repo, action, keys, now=""))


def _print_seed(result: dict[str, Any]) -> int:
    if result.get("error"):
        print(f"nongdanso: {result['error']}", file=sys.stderr)
        return 2
    if "accepted" in result:
        print(f"accepted {len(result['accepted'])}: {', '.join(result['accepted']) or '-'}")
        return 0
    print(result.get("summary", ""))
    for key in result.get("added", []):
        print(f"added     {key}")
    for change in result.get("changed", []):
        mark = "EDITED BY AN ADMIN: accepting replaces their text" if change["edited"] else ""
        print(f"changed   {change['key']}  {mark}".rstrip())
    if result.get("changed"):
        print("to apply: python -m bot faq accept KEY... (or: faq accept all)")
    return 0


def _through_bot(settings: Settings, action: str, file: Path) -> int:
    inbox = FaqInbox(settings.data_dir)
    rid = inbox.submit_import(file.read_bytes()) if action == "import" else inbox.submit_export()
    print("the bot is running; handing the request to it…", file=sys.stderr)
    result = inbox.wait(rid, WAIT_SECONDS)
    if result is None:
        inbox.withdraw(rid)
        print("nongdanso: the running bot did not answer; nothing changed", file=sys.stderr)
        return 1
    if not result.get("ok"):
        print(f"nongdanso: {file}: {result.get('error')}; nothing imported", file=sys.stderr)
        return 2
    if action == "export":
        shutil.move(inbox.output(rid), file)
        print(f"exported {result.get('count')} entries to {file}")
        return 0
    return _print_report(str(result.get("summary")), list(result.get("errors", [])))


def _print_report(summary: str, errors: list[str]) -> int:
    for error in errors:
        print(f"skipped {error}", file=sys.stderr)
    print(summary)
    return 1 if errors else 0
