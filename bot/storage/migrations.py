"""Data migrations, in order; each must be safe to run again after a crash mid-way."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from bot.slugs import new_slug

if TYPE_CHECKING:
    from bot.storage.db import Store


def listing_slugs(store: Store) -> None:
    """Give every listing a random public slug; mark them legacy so /p/<id> still redirects."""
    table = store.table("listings")
    used = {str(d.get("slug")) for d in table.all() if d.get("slug")}

    def assign(doc: MutableMapping[str, Any]) -> None:
        slug = new_slug(lambda s: s in used)
        used.add(slug)
        doc["slug"] = slug
        doc["legacy_id"] = True  # printed QR stickers point at /p/<id>

    table.update(assign, lambda d: not d.get("slug"))  # one log record for all of them
