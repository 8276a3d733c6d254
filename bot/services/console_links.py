"""One-time sign-in links to the web console: random, stored hashed, single use, 10 minutes.

Links are small files under DATA_DIR/console/links (named by the token's SHA-256) rather than
store records, so that `python -m bot console-link` can issue one while the running bot holds
the store; consuming one is an unlink, which only one request can win.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.clock import Clock
from bot.private_files import private_dir, write_private
from bot.services.users import User, UserRepo

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=10)
LOGIN_PATH = "/console/login/"


def digest(token: str) -> str:
    """The stored form of a secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Links:
    """One-time sign-in links, stored hashed as small files."""

    def __init__(self, data_dir: Path, clock: Clock) -> None:
        self.dir = data_dir / "console" / "links"
        self.clock = clock

    def issue(self, user_key: str) -> str:
        """A new token for this identity ("telegram:123"); only its hash is written."""
        private_dir(self.dir)
        self._prune()
        token = secrets.token_urlsafe(32)
        expires = (self.clock.now() + LINK_TTL).isoformat()
        path = self.dir / f"{digest(token)}.json"
        record = json.dumps({"user_key": user_key, "expires_at": expires})
        write_private(path, record.encode(), sync=True)
        return token

    def redeem(self, token: str) -> str | None:
        """The identity a token was issued for, consuming it; None if unknown, used or expired."""
        if not token or len(token) > 100:
            return None
        path = self.dir / f"{digest(token)}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            path.unlink()  # single use: a second request finds nothing
        except (OSError, ValueError):
            return None
        if datetime.fromisoformat(record["expires_at"]) <= self.clock.now():
            log.info("console link for %s refused: expired", record.get("user_key"))
            return None
        return str(record["user_key"])

    def _prune(self) -> None:
        """Remove expired link files (anything older than the link lifetime)."""
        cutoff = (self.clock.now() - LINK_TTL).timestamp()
        for path in self.dir.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue

    def url(self, base_url: str, user_key: str) -> str:
        """A fresh sign-in link for this identity, on the bot's public address."""
        return base_url.rstrip("/") + LOGIN_PATH + self.issue(user_key)


def may_use_console(users: UserRepo, user: User) -> bool:
    """Whether this person may have a console link: an admin or a team member."""
    return users.is_admin(user) or users.is_team(user)
