"""One-time sign-in links to the web console: random, stored hashed, single use, 10 minutes.

Links are documents of the `console_links` table (the token's SHA-256, never the token), so
every bot process sharing a database knows every link. Using one is a version-checked write
of its `used_at`: of two processes redeeming the same link at once, one commit wins and the
other is refused (StoreConflict), so a link signs in once.

`python -m bot console-link` must work while the bot runs. On PostgreSQL it writes the link
into the database itself. The embedded store is locked by the running bot, so there the command
drops a small file under DATA_DIR/console/links (named by the hash) and the bot imports it into
the table when the link is opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tinydb.table import Document

from bot.core.clock import Clock
from bot.private_files import private_dir, write_private
from bot.services.users import User, UserRepo
from bot.storage.db import Store
from bot.storage.errors import StoreConflict

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=10)
LOGIN_PATH = "/console/login/"
TABLE = "console_links"


def digest(token: str) -> str:
    """The stored form of a secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(user_key: str, now: datetime) -> tuple[str, dict[str, Any]]:
    """A fresh token and the record kept of it (its hash, whom it is for, until when)."""
    token = secrets.token_urlsafe(32)
    expires = (now + LINK_TTL).isoformat()
    return token, {"hash": digest(token), "user_key": user_key, "expires_at": expires}


def login_url(base_url: str, token: str) -> str:
    """The sign-in link of a token, on the bot's public address."""
    return base_url.rstrip("/") + LOGIN_PATH + token


class LinkDrop:
    """Links the command line hands to a running bot on the embedded store, as small files."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "console" / "links"

    def issue(self, user_key: str, now: datetime) -> str:
        """Write a new link's record (0600, fsync'd) for the bot to import; return the token."""
        token, record = new_link(user_key, now)
        private_dir(self.dir)
        write_private(self.dir / f"{record['hash']}.json", json.dumps(record).encode(), sync=True)
        return token

    def take(self) -> list[dict[str, Any]]:
        """The records waiting here, removed from the folder."""
        if not self.dir.is_dir():
            return []
        records = []
        for path in self.dir.glob("*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                path.unlink()
            except (OSError, ValueError):
                continue  # half gone already, or not ours
            if isinstance(record, dict) and record.get("hash") == path.stem:
                records.append(record)
        return records


class Links:
    """One-time sign-in links in the store."""

    def __init__(self, store: Store, clock: Clock, data_dir: Path) -> None:
        self._store = store
        self._table = store.table(TABLE, indexes=("hash",))
        self.clock = clock
        self.drop = LinkDrop(data_dir)

    def issue(self, user_key: str) -> str:
        """A new token for this identity ("telegram:123"); only its hash is stored."""
        now = self.clock.now()
        self._prune(now)
        token, record = new_link(user_key, now)
        self._table.insert(record)
        return token

    def url(self, base_url: str, user_key: str) -> str:
        """A fresh sign-in link for this identity, on the bot's public address."""
        return login_url(base_url, self.issue(user_key))

    async def redeem(self, token: str, may_wait: Callable[[], bool] = lambda: True) -> str | None:
        """The identity a token was issued for, using it up; None if unknown, used or expired.

        `may_wait()`: whether a token not known here may be looked for among the command line's
        links and other processes' commits (see Console.may_wait); asked only then."""
        if not token or len(token) > 100:
            return None
        key = digest(token)
        doc = self._find(key)
        if doc is None and may_wait():  # issued a moment ago by the command line or a process
            self._import_drops()
            await self._store.catch_up()
            doc = self._find(key)
        if doc is None or doc.get("used_at"):
            return None
        now = self.clock.now()
        if datetime.fromisoformat(str(doc["expires_at"])) <= now:
            log.info("console link for %s refused: expired", doc.get("user_key"))
            return None
        try:
            async with self._store.committed():
                self._table.update({"used_at": now.isoformat()}, doc_ids=[doc.doc_id])
        except StoreConflict:
            log.info("console link refused: used at the same moment by another request")
            return None
        return str(doc["user_key"])

    def _find(self, key: str) -> Document | None:
        found = self._store.find(self._table, "hash", key)
        return found[0] if found else None

    def _import_drops(self) -> None:
        for record in self.drop.take():
            if not self._find(str(record["hash"])):
                self._table.insert(record)

    def _prune(self, now: datetime) -> None:
        """Remove used and expired links."""
        gone = [
            d.doc_id
            for d in self._table.all()
            if d.get("used_at") or datetime.fromisoformat(str(d["expires_at"])) <= now
        ]
        if gone:
            self._table.remove(doc_ids=gone)


def may_use_console(users: UserRepo, user: User) -> bool:
    """Whether this person may have a console link: an admin or a team member."""
    return users.is_admin(user) or users.is_team(user)
