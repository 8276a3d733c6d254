"""One person, several apps: link a new identity to an existing account after a code check.

The code goes to the account already registered (so only its owner can read it) and is typed
in the new app. Codes are stored hashed, expire, allow a few tries, and an account receives
only a few codes a day, so nobody can pester a farmer or guess their way in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from bot.services.conversations import ConversationRepo
from bot.services.users import User, UserRepo
from bot.storage.db import Store

log = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=10)
CODE_TRIES = 3
CODES_PER_DAY = 3  # codes one account may receive in 24 hours
CODE_DIGITS = 6


class Check(StrEnum):
    """The verdict on a typed code."""

    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong tries, or no code was sent


def _hash(code: str, requester: str) -> str:
    return hashlib.sha256(f"{requester}:{code}".encode()).hexdigest()


class LinkService:
    """Codes that prove two identities belong to the same person, and the merge."""

    def __init__(self, store: Store, users: UserRepo, conversations: ConversationRepo) -> None:
        self._store = store
        self._users = users
        self._conversations = conversations
        self._table = store.table("link_codes", indexes=("requester", "target"))

    def candidate(self, user: User, phone: str) -> User | None:
        """Another registered account with this phone that `user`'s app is not linked to yet."""
        channels = {key.partition(":")[0] for key in user.ident}
        for other in self._users.by_phone(phone):
            if other.id == user.id or not other.registered:
                continue
            if channels & {key.partition(":")[0] for key in other.ident}:
                continue  # already has an account on this app: a different person or phone
            return other
        return None

    def issue(self, requester: str, target: User, now: datetime) -> str | None:
        """A new code for `requester` to prove they own `target`; None over the daily limit."""
        day_ago = (now - timedelta(days=1)).timestamp()
        recent = self._store.find(self._table, "target", target.id)
        old = [d.doc_id for d in recent if float(d.get("issued", 0)) < day_ago]
        if old:
            self._table.remove(doc_ids=old)
        if len(recent) - len(old) >= CODES_PER_DAY:
            log.warning("link codes for user %s over the daily limit", target.id)
            return None
        self._retire(requester)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        self._table.insert(
            {
                "requester": requester,
                "target": target.id,
                "hash": _hash(code, requester),
                "issued": now.timestamp(),
                "expires": (now + CODE_TTL).timestamp(),
                "tries": 0,
                "active": True,
            }
        )
        return code

    def check(self, requester: str, code: str, now: datetime) -> tuple[Check, int]:
        """Judge a typed code: the verdict and the target user id it proves (0 if none)."""
        docs = [
            d for d in self._store.find(self._table, "requester", requester) if d.get("active")
        ]
        if not docs:
            return Check.LOCKED, 0
        doc = docs[-1]
        if now.timestamp() > float(doc.get("expires", 0)):
            return Check.EXPIRED, 0
        if hmac.compare_digest(_hash(code.strip(), requester), str(doc.get("hash", ""))):
            self._table.update({"active": False}, doc_ids=[doc.doc_id])
            return Check.OK, int(doc["target"])
        tries = int(doc.get("tries", 0)) + 1
        self._table.update({"tries": tries, "active": tries < CODE_TRIES}, doc_ids=[doc.doc_id])
        return (Check.WRONG if tries < CODE_TRIES else Check.LOCKED), 0

    def tries_left(self, requester: str) -> int:
        """Wrong tries the requester still has on their current code."""
        docs = [
            d for d in self._store.find(self._table, "requester", requester) if d.get("active")
        ]
        return CODE_TRIES - int(docs[-1].get("tries", 0)) if docs else 0

    def _retire(self, requester: str) -> None:
        """A new code replaces the requester's earlier ones."""
        for doc in self._store.find(self._table, "requester", requester):
            if doc.get("active"):
                self._table.update({"active": False}, doc_ids=[doc.doc_id])

    def merge(self, fresh: User, target: User, user_key: str) -> User:
        """Move `fresh`'s identities onto `target` and delete `fresh`; returns `target`."""
        for key in fresh.ident:
            if key not in target.ident:
                target.ident.append(key)
        target.last_channel, target.blocked = user_key, False  # notices go where they wrote
        self._users.save(target)  # first: the identity is never without an account
        self._conversations.delete(fresh.id)
        self._users.delete(fresh.id)
        log.info("user %s linked to user %s (%s)", fresh.id, target.id, user_key.partition(":")[0])
        return target
