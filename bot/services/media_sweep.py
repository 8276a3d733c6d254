"""Uploaded photos that no record uses, removed after a grace period (an hourly job).

An upload (a photo or a voice note) is kept while a half-filled form (current or put aside),
a listing, a question for the team (its voice note, played at /audio/<token>), a broadcast or
an outbox row mentions its "media:<name>" ref. A market thumbnail (thumb-<hash of a ref>) is
kept while a listing has the photo it was made from. Telegram's file_id cache names files by
"media:<name>@<version>": a cache, not a reference (a swept file is simply uploaded again). The grace period covers the moment between
the file landing and the record that will mention it being saved, and photos a user sent to a
form they then left (a "back" may still use them).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.core.media import thumb_name

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

# How the web chat names uploads: up-<owner tag>-<random>.jpg, and before that <random>.<ext>;
# and their temporary files, should a crash leave one.
UPLOAD_NAME = re.compile(
    r"^\.?(?:up-[0-9a-f]{12}-)?(?:voice-)?[0-9a-f]{24}"
    r"\.(?:jpg|png|webp|ogg|webm|m4a|mp3|wav)(?:\.\d+(?:\.[0-9a-f]+)?)?(?:\.tmp)?$"
)
THUMB_NAME = re.compile(r"^thumb-[0-9a-f]{24}\.jpg$")
REFERENCING_TABLES = (
    "conversations",
    "suspended_forms",
    "listings",
    "handoffs",
    "broadcasts",
    "outbox",
)
SWEEP_EVERY = 3600.0
MEDIA_REF = "media:"


def _collect(value: Any, names: set[str]) -> None:
    if isinstance(value, str):
        if value.startswith(MEDIA_REF):
            names.add(value.removeprefix(MEDIA_REF))
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, names)
    elif isinstance(value, list):
        for item in value:
            _collect(item, names)


def referenced(services: Services) -> set[str]:
    """Names of the media files some record mentions (and the thumbnails of listed photos)."""
    names: set[str] = set()
    for table in REFERENCING_TABLES:
        for doc in services.store.table(table):
            _collect(dict(doc), names)
    for doc in services.store.table("listings"):
        for ref in doc.get("photos") or []:
            if isinstance(ref, str):
                names.add(thumb_name(ref))
    return names


def sweep_media(services: Services, now: float) -> int:
    """Remove uploads older than the grace period that no record mentions; return how many."""
    media = services.media.media_dir
    if not media.is_dir():
        return 0
    cutoff = now - services.settings.media_sweep_grace_hours * 3600
    old = []
    for path in media.iterdir():
        if UPLOAD_NAME.match(path.name) or THUMB_NAME.match(path.name):
            try:
                if path.stat().st_mtime < cutoff:
                    old.append(path)
            except FileNotFoundError:
                continue
    if not old:
        return 0
    used = referenced(services)
    removed = 0
    for path in old:
        if path.name not in used:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("media sweep: removed %d unused upload(s)", removed)
    return removed


def media_sweeper(services: Services) -> Callable[[], Awaitable[None]]:
    """The job: sweep once an hour."""

    async def media_sweeper() -> None:
        while True:
            sweep_media(services, services.clock.now().timestamp())
            await asyncio.sleep(SWEEP_EVERY)

    return media_sweeper
