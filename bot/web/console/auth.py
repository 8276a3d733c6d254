"""Console sign-in: one-time links, sessions, CSRF tokens, and who may see what.

Links are issued by `bot.services.console_links`. Sessions live in the store; their cookie
carries a random id whose hash is the key, and each holds the CSRF token of its forms.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import Clock
from bot.services.console_links import digest
from bot.services.users import User, UserRepo
from bot.storage.db import Store
from bot.storage.errors import StoreConflict

log = logging.getLogger(__name__)

SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(hours=24)
TOUCH_EVERY = timedelta(minutes=5)  # seen_at is written at most this often: fewer fsyncs
COOKIE = "ndc_session"


def same(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


@dataclass
class Session:
    """A signed-in browser."""

    doc_id: int
    user_id: int
    csrf: str
    created_at: datetime
    seen_at: datetime


class Sessions:
    """Console sessions in the store, keyed by the hash of the cookie's value."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._table = store.table("console_sessions", indexes=("sid", "user_id"))
        self.clock = clock

    def create(self, user_id: int) -> tuple[str, Session]:
        """Start a session; returns the cookie value (never stored) and the session."""
        sid = secrets.token_urlsafe(32)
        now = self.clock.now()
        doc: dict[str, Any] = {
            "sid": digest(sid),
            "user_id": user_id,
            "csrf": secrets.token_urlsafe(24),
            "created_at": now.isoformat(),
            "seen_at": now.isoformat(),
        }
        doc_id = self._table.insert(doc)
        self._expire_old(now)
        return sid, Session(doc_id, user_id, doc["csrf"], now, now)

    def get(self, sid: str) -> Session | None:
        """The live session behind a cookie value; expired ones are removed."""
        if not sid or len(sid) > 100:
            return None
        docs = self._store.find(self._table, "sid", digest(sid))
        if not docs:
            return None
        doc = docs[0]
        session = Session(
            doc.doc_id,
            int(doc["user_id"]),
            str(doc["csrf"]),
            datetime.fromisoformat(doc["created_at"]),
            datetime.fromisoformat(doc["seen_at"]),
        )
        now = self.clock.now()
        if now - session.seen_at > SESSION_IDLE or now - session.created_at > SESSION_MAX:
            self._table.remove(doc_ids=[doc.doc_id])
            return None
        return session

    async def touch(self, session: Session) -> None:
        """Note that the session is in use (written at most every TOUCH_EVERY), on its own.

        Two processes may touch one session at once (a page and its downloads): the write that
        loses changes nothing that matters, so it must not fail the request.
        """
        now = self.clock.now()
        if now - session.seen_at <= TOUCH_EVERY or self._table.get(doc_id=session.doc_id) is None:
            return
        session.seen_at = now
        with contextlib.suppress(StoreConflict):
            async with self._store.committed():
                self._table.update({"seen_at": now.isoformat()}, doc_ids=[session.doc_id])

    def end(self, session: Session) -> None:
        """Sign out."""
        self._table.remove(doc_ids=[session.doc_id])

    def end_all(self, user_id: int) -> None:
        """Sign a user out everywhere (roles revoked, data deleted)."""
        docs = self._store.find(self._table, "user_id", user_id)
        if docs:
            self._table.remove(doc_ids=[d.doc_id for d in docs])

    def _expire_old(self, now: datetime) -> None:
        stale = [
            d.doc_id
            for d in self._table.all()
            if now - datetime.fromisoformat(d["seen_at"]) > SESSION_IDLE
        ]
        if stale:
            self._table.remove(doc_ids=stale)


@dataclass
class Viewer:
    """Who is looking at a console page, and what they may see."""

    user: User
    admin: bool
    team_areas: tuple[str, ...]
    csrf: str

    def may_see(self, area: str) -> bool:
        """Whether this viewer may see an area's data."""
        return self.admin or area in self.team_areas

    @property
    def scope(self) -> tuple[str, ...] | None:
        """The areas this viewer is limited to; None = the whole province."""
        return None if self.admin else self.team_areas


def viewer_for(users: UserRepo, user: User | None, csrf: str) -> Viewer | None:
    """A console viewer if the user (still) holds the admin or team role, else None."""
    if user is None:
        return None
    admin = users.is_admin(user)
    if not admin and not users.is_team(user):
        return None
    return Viewer(user, admin, tuple(user.team_areas), csrf)
