"""`python -m bot store migrate --to postgresql://…`: DATA_DIR's store into an empty database.

The embedded store is opened as the bot opens it (its lock held, so the bot must be stopped:
what it wrote after the copy would be lost; its data migrations run first), its documents are
copied with their ids (bot/storage/pg_copy.py: batches, resumable, never twice) together with
the Zalo OA token pair (DATA_DIR/zalo_oa_token.json becomes the one document of the table the
processes share it in), then the uploaded media go to the media directory the PostgreSQL
deployment uses. Both sides are counted, table by table; any difference fails the command.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.channels.zalo_oa_state import TOKEN_KEY, TOKEN_TABLE
from bot.config import POSTGRES_SCHEMES, Settings
from bot.private_files import private_dir, write_private
from bot.storage.codec import dumps
from bot.storage.db import Store
from bot.storage.errors import StoreError, StoreLocked
from bot.storage.files import Frozen
from bot.storage.pg_copy import BATCH, WORKERS, Source, copy_into, database_counts

TOKEN_FILE = "zalo_oa_token.json"  # where the embedded store keeps the Zalo OA token pair


@dataclass(frozen=True)
class Count:
    """One line of the closing table: what the source holds and what the target holds."""

    what: str
    source: int
    target: int


def run_migrate(
    settings: Settings, url: str, *, batch: int = BATCH, workers: int = WORKERS
) -> int:
    """Copy DATA_DIR's store and media to `url`; 0 when both sides count the same."""
    data_dir = settings.data_dir
    if not url.startswith(POSTGRES_SCHEMES):
        return _fail("--to must be a postgresql:// address")
    if not data_dir.is_dir():
        return _fail(f"no DATA_DIR at {data_dir}")
    try:
        store = Store(data_dir)
    except StoreLocked:
        return _fail(
            f"the bot is running on {data_dir}; stop it first (what it wrote after the copy "
            "would be lost)"
        )
    except StoreError as exc:
        return _fail(f"cannot open DATA_DIR={data_dir}: {exc}")
    try:
        return _migrate(store, settings, url, batch, workers)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to continue", file=sys.stderr)
        return 130
    finally:
        store.close()


def _migrate(store: Store, settings: Settings, url: str, batch: int, workers: int) -> int:
    started = time.perf_counter()
    try:
        source = Source(store.schema, with_token_pair(store.engine.freeze(), store.data_dir))
        total = sum(source.counts().values())
        print(f"copying {total} documents from {store.data_dir} (schema {source.schema})")
        done = copy_into(
            url,
            source,
            str(store.data_dir.resolve()),
            batch=batch,
            workers=workers,
            progress=_progress,
        )
        target = database_counts(url)
    except StoreError as exc:
        return _fail(str(exc))
    seconds = time.perf_counter() - started
    if done.already:
        print("the copy had finished before: nothing left to copy")
    else:
        again = "resumed an interrupted copy; " if done.resumed else ""
        rate = done.documents / seconds if seconds > 0 else 0.0
        print(f"{again}copied {done.documents} documents in {seconds:.1f} s ({rate:,.0f}/s)")
    source_media = store.data_dir / "media"
    target_media = settings.media_dir
    counts = [Count(name, n, target.get(name, 0)) for name, n in source.counts().items()]
    counts += [Count(name, 0, n) for name, n in target.items() if name not in source.tables]
    counts.append(_copy_media(source_media, target_media))
    return _report(counts, done.already)


def with_token_pair(tables: Frozen, data_dir: Path) -> Frozen:
    """The store's tables plus the Zalo OA token pair the embedded store keeps in a file.

    On a shared store the pair is the one document of its table (bot/channels/zalo_oa_state.py
    TokenTable); a store that has it already keeps its own.
    """
    path = data_dir / TOKEN_FILE
    if not path.is_file() or tables.get(TOKEN_TABLE, (0, {}, {}))[1]:
        return tables
    try:
        pair = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    return {**tables, TOKEN_TABLE: (2, {1: dumps({"key": TOKEN_KEY, **pair})}, {})}


def _copy_media(src: Path, dest: Path) -> Count:
    """Copy the media files the target lacks (same name and size: already there)."""
    if not src.is_dir():
        return Count("media files", 0, 0)
    files = [p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".")]
    if dest.is_dir() and dest.resolve() == src.resolve():
        return Count("media files", len(files), len(files))  # the same directory
    present = 0
    for path in files:
        target = dest / path.relative_to(src)
        if not (target.is_file() and target.stat().st_size == path.stat().st_size):
            private_dir(target.parent)
            write_private(target, path.read_bytes(), sync=True)
        present += target.is_file()
    return Count("media files", len(files), present)


def _progress(table: str, have: int, total: int) -> None:
    print(f"  {table}: {have}/{total}", flush=True)


def _report(counts: list[Count], already: bool) -> int:
    width = max(len(c.what) for c in counts)
    print(f"{'':{width}}  {'DATA_DIR':>10}  {'database':>10}")
    for c in counts:
        mark = "" if c.source == c.target else "  <- DIFFERS"
        print(f"{c.what:{width}}  {c.source:>10}  {c.target:>10}{mark}")
    wrong = [c.what for c in counts if c.source != c.target]
    if wrong:
        why = "the database changed since the migration" if already else "NOT migrated"
        print(f"nongdanso: the counts differ for {', '.join(wrong)}: {why}", file=sys.stderr)
        return 1
    print("migrated: both sides hold the same; point DATABASE_URL at the database")
    return 0


def _fail(message: str) -> int:
    print(f"nongdanso: {message}", file=sys.stderr)
    return 2
