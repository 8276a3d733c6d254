"""`python -m bot restore FILE [--tombstones NEWER ...]`: a restore that keeps deletions deleted.

A backup holds everyone who was there when it was made. People who deleted their data later
left tombstones in the newer backups and in the running store: the restore reads them, erases
those people from what it brought back (as their deletion did), keeps the tombstones for the
backups to come, and compacts, so no restored file still holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.services.container import build_services
from bot.services.tombstones import TABLE, Tombstone
from bot.storage.backup import read_docs, restore
from bot.storage.db import Store


@dataclass
class Restored:
    """What a restore did."""

    documents: int  # in the backup
    tombstones: int  # taken from newer backups or stores
    erased: int  # people removed from what was restored


def restore_keeping_deletions(settings: Settings, src: Path, newer: list[Path]) -> Restored:
    """Restore `src` into the empty DATA_DIR, then apply its own and `newer`'s tombstones.

    The newer sources are read before anything is written, so a wrong path changes nothing.
    """
    stones = [Tombstone.from_doc(d) for path in newer for d in read_docs(path, TABLE)]
    count = restore(src, settings.data_dir)
    with Store(settings.data_dir) as store:
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
    return Restored(count, len(added), len(gone))
