"""Web chat session ids the server issued: signed cookies, so a client cannot pick its own.

The cookie is "<id>.<signature>"; the user key stays "web:<id>". Cookies from before signing
(a bare 32-hex id) keep working when a stored user already owns them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

SECRET_FILE = "web_chat.key"
ID_HEX = 32
SIG_HEX = 32


def load_secret(data_dir: Path) -> bytes:
    """The signing key kept in DATA_DIR (made on first use, readable by the owner only)."""
    path = data_dir / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return key


class SessionIds:
    """Issues and checks signed session ids."""

    def __init__(self, secret: bytes, is_stored: Callable[[str], bool]) -> None:
        self._secret = secret
        self._is_stored = is_stored  # whether a stored user owns this bare (legacy) id

    def _sign(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()[:SIG_HEX]

    def issue(self) -> tuple[str, str]:
        """A new (session id, cookie value)."""
        session = secrets.token_hex(ID_HEX // 2)
        return session, f"{session}.{self._sign(session)}"

    def check(self, cookie: str) -> str | None:
        """The session id of a cookie this server issued, or None."""
        session, _dot, sig = cookie.partition(".")
        if len(session) != ID_HEX or not all(c in "0123456789abcdef" for c in session):
            return None
        if sig:
            return session if hmac.compare_digest(sig, self._sign(session)) else None
        return session if self._is_stored(f"web:{session}") else None
