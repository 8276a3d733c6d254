"""Command line: python -m bot [run | chat | i18n | faq | listings | backup | restore | store]."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import configure_logging
from bot.private_files import UMASK
from bot.storage.db import StoreError, StoreLocked
from bot.storage.errors import StoreDamaged

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nongdanso", description="Nông Dân Số chat assistant")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve every configured channel and the web chat (default)")
    chat = sub.add_parser("chat", help="chat with the bot in this terminal")
    chat.add_argument("--name", default="", help="your display name")
    i18n = sub.add_parser("i18n", help="update the gettext catalogs from the code and list gaps")
    i18n.add_argument("domain", nargs="?", default="", help="only this domain (e.g. listings)")
    faq = sub.add_parser(
        "faq",
        help="import/export the FAQ as CSV, or update it from the seed (works while running)",
    )
    faq.add_argument("action", choices=("import", "export", "update", "accept"))
    faq.add_argument(
        "args",
        nargs="*",
        help="import/export: the CSV file (question,answer,alternatives,tags); "
        "accept: the keys listed by update, or 'all'",
    )
    listings = sub.add_parser("listings", help="export every listing as a marketplace CSV")
    listings.add_argument("action", choices=("export",))
    listings.add_argument("file", type=Path, help="CSV file to write (UTF-8, opens in Excel)")
    backup = sub.add_parser("backup", help="write a consistent snapshot (works while running)")
    backup.add_argument("file", type=Path)
    restore = sub.add_parser(
        "restore",
        help="bring a backup back into an empty DATA_DIR or database; without FILE, apply "
        "--tombstones to the store as it is",
    )
    restore.add_argument("file", type=Path, nargs="?")
    restore.add_argument(
        "--tombstones",
        metavar="NEWER",
        type=Path,
        action="append",
        default=[],
        help="a newer backup or a DATA_DIR: who deleted their data there stays deleted",
    )
    store = sub.add_parser(
        "store",
        help="check the store's files for damage, repair them, or migrate DATA_DIR's store "
        "to PostgreSQL",
    )
    store.add_argument("action", choices=("check", "repair", "migrate"))
    store.add_argument("--to", metavar="URL", default="", help="migrate: postgresql://…")
    store.add_argument("--batch", type=int, help="migrate: documents per COPY and commit (5000)")
    store.add_argument("--workers", type=int, help="migrate: connections copying at once (2)")
    link = sub.add_parser("console-link", help="print a one-time sign-in link to the web console")
    link.add_argument("telegram_id", nargs="?", default="", help="default: the first admin")
    return parser


def _fail(message: str) -> int:
    print(f"nongdanso: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nongdanso` console script and `python -m bot`."""
    args = _parser().parse_args(argv)
    command = args.command or "run"
    if command == "i18n":
        from bot.i18n_tools import update_catalogs

        for domain, msgids in update_catalogs(args.domain).items():
            for msgid in msgids:
                print(f"untranslated [{domain}]: {msgid!r}")
        return 0
    os.umask(UMASK)  # whatever a library writes is private too (our own files set 0600)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc))
    configure_logging(settings, stream=sys.stderr if command == "chat" else None)
    if command == "faq":
        from bot.faq_cli import run_faq, run_faq_seed

        if args.action in ("import", "export") and len(args.args) != 1:
            return _fail(f"faq {args.action} needs one CSV file")
        if args.action == "accept" and not args.args:
            return _fail("faq accept needs the keys listed by `faq update` (or 'all')")
        if args.action in ("update", "accept"):
            return _with_store(settings, lambda: run_faq_seed(settings, args.action, args.args))
        return _with_store(settings, lambda: run_faq(settings, args.action, Path(args.args[0])))
    if command == "listings":
        from bot.listings_cli import run_listings

        return _with_store(settings, lambda: run_listings(settings, args.action, args.file))
    if command in ("backup", "restore"):
        return _with_store(
            settings, lambda: _backup_or_restore(settings, command, args.file, args)
        )
    if command == "console-link":
        return _with_store(settings, lambda: _console_link(settings, args.telegram_id))
    if command == "store":
        if args.action == "migrate":
            from bot.migrate_cli import run_migrate

            if not args.to:
                return _fail("store migrate needs --to postgresql://…")
            sizes = {"batch": args.batch, "workers": args.workers}
            return run_migrate(
                settings, args.to, **{k: max(1, v) for k, v in sizes.items() if v is not None}
            )
        if args.to:
            return _fail("--to is for store migrate")
        from bot.store_cli import run_store

        return run_store(settings.data_dir, args.action)
    from bot.app import tune_gc

    tune_gc()  # process-wide: set here, for the bot processes only
    if command == "chat":
        logging.getLogger().setLevel(logging.WARNING)
        return _with_store(settings, lambda: _chat(settings, args.name))
    return _with_store(settings, lambda: _serve(settings))


def _with_store(settings: Settings, run: Callable[[], int]) -> int:
    try:
        return run()
    except StoreLocked:
        return _fail(
            f"another bot process is already using DATA_DIR={settings.data_dir}; "
            "stop it or choose another DATA_DIR"
        )
    except StoreDamaged as exc:
        return _fail(
            f"cannot use DATA_DIR={settings.data_dir}: {exc}. `python -m bot store check` "
            "says what is damaged; `python -m bot store repair` keeps everything before it"
        )
    except StoreError as exc:
        if settings.database_url:
            return _fail(f"cannot use the database (DATABASE_URL): {exc}")
        return _fail(f"cannot use DATA_DIR={settings.data_dir}: {exc}")
    except PermissionError as exc:
        return _fail(f"cannot write to DATA_DIR={settings.data_dir}: {exc.strerror}")
    except KeyboardInterrupt:
        return 0


def _backup_or_restore(
    settings: Settings, command: str, file: Path | None, args: argparse.Namespace
) -> int:
    from bot.restore_cli import restore_keeping_deletions
    from bot.storage import open_store
    from bot.storage.backup import backup

    where = "the database" if settings.database_url else str(settings.data_dir)
    if command == "backup":
        if file is None:
            return _fail("backup needs a FILE to write")
        if settings.database_url:
            with open_store(settings.data_dir, settings.database_url) as store:
                count = store.backup(file)
        else:
            count = backup(settings.data_dir, file)
        print(f"backup of {where} written to {file}: {count} documents")
        return 0
    if file is None and not args.tombstones:
        return _fail("restore needs a backup FILE, or --tombstones NEWER to apply to the store")
    for path in [*([file] if file else []), *args.tombstones]:
        if not path.exists():
            return _fail(f"no backup file or DATA_DIR at {path}")
    done = restore_keeping_deletions(settings, file, args.tombstones)
    if file is not None:
        print(f"restored {done.documents} documents from {file} into {where}")
    if args.tombstones:
        print(f"{done.tombstones} newer deletion(s) read from {len(args.tombstones)} source(s)")
    else:
        print(
            "note: people who deleted their data after this backup was made are in it again; "
            "restore with --tombstones NEWER (a newer backup or the live DATA_DIR) to keep them out",
            file=sys.stderr,
        )
    erased_from = where if file is None else "the restored store"
    print(f"people who had deleted their data, removed from {erased_from}: {done.erased}")
    return 0


def _console_link(settings: Settings, telegram_id: str) -> int:
    from bot.core.clock import Clock
    from bot.services.console_links import LinkDrop, Links, login_url

    chosen = telegram_id.strip() or min(settings.admin_telegram_ids, default="")
    if not chosen.lstrip("-").isdigit():
        return _fail("give a numeric Telegram id (or set ADMIN_TELEGRAM_IDS)")
    user_key = f"telegram:{chosen}"
    if settings.database_url:  # shared by every process: written straight into the database
        from bot.storage import open_store

        with open_store(settings.data_dir, settings.database_url) as store:
            print(Links(store, Clock(), settings.data_dir).url(settings.base_url, user_key))
        return 0
    # The running bot holds the embedded store: a file it imports when the link is opened.
    token = LinkDrop(settings.data_dir).issue(user_key, Clock().now())
    print(login_url(settings.base_url, token))
    return 0


def _chat(settings: Settings, name: str) -> int:
    from bot.app import BotApp
    from bot.channels.terminal import run_terminal

    async def go() -> None:
        app = BotApp(settings)
        try:
            await app.open()
            await run_terminal(app.engine, name)
        finally:
            await app.stop()

    asyncio.run(go())
    return 0


def _serve(settings: Settings) -> int:
    from bot.server import serve

    try:
        asyncio.run(serve(settings))
    except OSError as exc:
        if exc.errno in (98, 48):  # address in use (Linux, macOS)
            return _fail(
                f"port {settings.web_port} on {settings.web_host} is already in use; "
                "set WEB_PORT to a free port"
            )
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
