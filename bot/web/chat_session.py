"""Web chat session ids the server issued: signed cookies, so a client cannot pick its own.

The cookie is "<id>.<signature>"; the user key stays "web:<id>". An id a stored user already
owns is accepted as it is (cookies from before signing): what signing prevents is a new
session under an id the client chose.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from bot.private_files import write_private
from bot.storage.db import Store
from bot.storage.errors import StoreConflict

log = logging.getLogger(__name__)

SECRET_FILE = "web_chat.key"
SECRETS = "secrets"  # the shared store's table of generated keys, one document per name
KEY_NAME = "web_chat"
ID_HEX = 32
SIG_HEX = 32
_ID = re.compile(f"[0-9a-f]{{{ID_HEX}}}")


def load_secret(data_dir: Path) -> bytes:
    """The signing key kept in DATA_DIR (made on first use, readable by the owner only)."""
    path = data_dir / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except ValueError:
        log.warning("%s is damaged: a new key is made (stored users' cookies still work)", path)
    key = secrets.token_bytes(32)
    write_private(path, key.hex().encode("ascii"), sync=True)
    return key


class SharedKey:
    """The signing key as a document of a shared store: every process signs and checks alike.

    Made once (from DATA_DIR's key file when there is one, so cookies stay valid after moving
    to a shared store); read from the store until it is there, so should two processes make one
    at the same first start, the one the database kept is used by both. A stored key never
    changes: once found it is kept, and a request's cookie check costs no store lookup.
    """

    def __init__(self, store: Store, data_dir: Path) -> None:
        self._store = store
        self._table = store.table(SECRETS, indexes=("name",))
        legacy = data_dir / SECRET_FILE
        self._made = load_secret(data_dir) if legacy.is_file() else secrets.token_bytes(32)
        self._kept: bytes | None = None  # the stored key, once found

    async def ensure(self) -> None:
        """Store the key unless some process did (before the web server takes requests)."""
        await self._store.catch_up()
        if self._stored() is not None:
            return
        # Two processes at their first start: one commit wins, its key is in memory then.
        with contextlib.suppress(StoreConflict):
            async with self._store.committed():
                self._table.insert({"name": KEY_NAME, "hex": self._made.hex()})

    def _stored(self) -> bytes | None:
        if self._kept is None:
            found = self._store.find(self._table, "name", KEY_NAME)
            self._kept = bytes.fromhex(str(found[0]["hex"])) if found else None
        return self._kept

    def __call__(self) -> bytes:
        return self._stored() or self._made


class SessionIds:
    """Issues and checks signed session ids."""

    def __init__(self, secret: Callable[[], bytes], is_stored: Callable[[str], bool]) -> None:
        self._secret = secret
        self._is_stored = is_stored  # whether a stored user owns this bare (legacy) id

    def _sign(self, session: str) -> str:
        # The one-shot digest: a flood's every request is checked, hmac.new costs several times more.
        return hmac.digest(self._secret(), session.encode(), hashlib.sha256).hex()[:SIG_HEX]

    def issue(self) -> tuple[str, str]:
        """A new (session id, cookie value)."""
        session = secrets.token_hex(ID_HEX // 2)
        return session, f"{session}.{self._sign(session)}"

    def check(self, cookie: str) -> str | None:
        """The session id of a cookie this server issued, or None."""
        session, _dot, sig = cookie.partition(".")
        if not _ID.fullmatch(session):
            return None
        if sig and hmac.compare_digest(sig, self._sign(session)):
            return session
        # An id a stored user owns is theirs whatever its signature (a cookie from before
        # signing, or a lost key): only a new session must be of the server's making.
        return session if self._is_stored(f"web:{session}") else None
