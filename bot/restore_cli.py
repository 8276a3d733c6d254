"""`python -m bot restore [FILE] [--tombstones NEWER ...]`: a restore that keeps deletions deleted.

A backup holds everyone who was there when it was made. People who deleted their data later
left tombstones in the newer backups and in the running store: the restore reads them, erases
those people from what it brought back (as their deletion did), keeps the tombstones for the
backups to come, and compacts, so no restored file still holds them.

FILE goes into an empty DATA_DIR, or with DATABASE_URL into an empty PostgreSQL database
(copied with its ids, resumably: bot/storage/pg_copy.py). Without FILE, only the newer
tombstones are applied, to the store as it is: after bringing a database back with the
database's own tools (`pg_restore` of a `pg_dump` older than the last deletions), this erases
again whoever had deleted their data since. On PostgreSQL that works while the bot runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.services.container import build_services
from bot.services.tombstones import TABLE, Tombstone
from bot.storage import open_store
from bot.storage.backup import open_backup, read_docs, restore
from bot.storage.db import Store


@dataclass
class Restored:
    """What a restore did."""

    documents: int  # in the backup (0: tombstones applied to the store as it was)
    tombstones: int  # taken from newer backups or stores
    erased: int  # people removed from what was restored


def restore_keeping_deletions(settings: Settings, src: Path | None, newer: list[Path]) -> Restored:
    """Restore `src` into the empty store, then apply its own and `newer`'s tombstones.

    The newer sources are read before anything is written, so a wrong path changes nothing.
    Without `src`, the tombstones are applied to the store as it is.
    """
    stones = [Tombstone.from_doc(d) for path in newer for d in read_docs(path, TABLE)]
    count = 0
    if src is not None and settings.database_url:
        count = restore_into_database(src, settings.database_url)
    elif src is not None:
        count = restore(src, settings.data_dir)
    with open_store(settings.data_dir, settings.database_url) as store:
        added, erased = apply_tombstones(settings, store, stones)
    return Restored(count, added, erased)


def restore_into_database(src: Path, url: str) -> int:
    """Copy a backup file into an empty PostgreSQL database; return its document count."""
    from bot.storage.pg_copy import Source, TargetNotEmpty, copy_into

    with open_backup(src) as storage:
        source = Source(storage.schema, storage.freeze())
        done = copy_into(url, source, str(src.resolve()))
        if done.already:
            raise TargetNotEmpty(
                "the database already holds this backup, restored before: restore only into "
                "an empty database"
            )
        return sum(source.counts().values())


def apply_tombstones(settings: Settings, store: Store, stones: list[Tombstone]) -> tuple[int, int]:
    """Merge tombstones into the store and erase whoever any of its tombstones covers.

    Returns (tombstones added, people erased).
    """
    services = build_services(settings, store)
    added = services.tombstones.merge(stones)
    every = services.tombstones.all()
    gone = [u for u in services.users.all() if any(s.covers(u) for s in every)]
    for user in gone:
        services.erase(user)
    covered = services.tombstones.unpurged()
    if covered:
        store.compact(wait=True)  # the restored snapshot still holds them: fold it away
        services.tombstones.mark_purged(covered)
    return len(added), len(gone)
