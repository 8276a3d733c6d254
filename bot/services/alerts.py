"""Alerts for the admins: a problem only they can fix, told once per episode.

An alert is raised when the problem starts (admins are told on their own channel, and the
console dashboard shows it) and cleared when it is over; raising it again while it is open
tells nobody, so a failure that repeats every minute is one message, not hundreds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.fmt import fmt
from bot.core.types import Reply
from bot.i18n import N_, _

if TYPE_CHECKING:
    from bot.core.notify import Notifier
    from bot.services.users import UserRepo
    from bot.storage.db import Store

log = logging.getLogger(__name__)

ZALO_OA_TOKEN = "zalo_oa_token"
DETAIL_MAX = 200

TEXTS = {
    ZALO_OA_TOKEN: N_(
        "The Zalo OA access token could not be renewed, so the bot may stop answering on "
        "Zalo OA. Authorise the OA again in the Zalo developer console, put the new token "
        "pair in ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN, and restart the bot. "
        "Zalo said: {detail}"
    ),
}


@dataclass(frozen=True)
class Alert:
    """An open problem: what it is, what the platform said, since when."""

    key: str
    detail: str
    since: str

    def text(self) -> str:
        """The alert in words, in the current language."""
        return fmt(_(TEXTS.get(self.key, "{detail}")), detail=self.detail)


class Alerts:
    """Open alerts, kept in the store so a restart neither forgets nor repeats them."""

    def __init__(self, store: Store, users: UserRepo, notifier: Notifier) -> None:
        self._store = store
        self._table = store.table("alerts", indexes=("key",))
        self._users = users
        self._notifier = notifier

    def active(self) -> list[Alert]:
        """Every open alert, oldest first."""
        docs = sorted(self._table.all(), key=lambda d: str(d.get("since", "")))
        return [Alert(str(d["key"]), str(d.get("detail", "")), str(d["since"])) for d in docs]

    async def raise_alert(self, key: str, detail: str, now: datetime) -> bool:
        """Open an alert and tell the admins; False (nobody told) when it is already open."""
        if self._store.find(self._table, "key", key):
            return False
        alert = Alert(key, detail[:DETAIL_MAX], now.isoformat())
        self._table.insert({"key": key, "detail": alert.detail, "since": alert.since})
        log.warning("alert %s raised: %s", key, alert.detail)
        told = 0
        for admin in self._users.admins():
            if await self._notifier.notify(admin, lambda: [Reply("⚠️ " + alert.text())]):
                told += 1
        if not told:
            log.warning("alert %s: no admin could be told; it shows on the console", key)
        return True

    def clear(self, key: str) -> bool:
        """Close an alert (the problem is over); False if none was open."""
        ids = [d.doc_id for d in self._store.find(self._table, "key", key)]
        if ids:
            self._table.remove(doc_ids=ids)
            log.info("alert %s cleared", key)
        return bool(ids)
