"""Roles: admins grant and revoke them; one-time invite codes make team members of an area.

A code looks like TCN-CHILANG-7KQ2: the area in letters a person can read out, then four
random characters from an alphabet without look-alikes (no 0/O, 1/I/L). Codes expire and work
once. Redeeming marks the code used (fsync'd) before the role is granted; a crash between the
two leaves the code used by that same person, and their next `/ma` with it grants the role.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.users import ADMIN, TEAM, User, UserRepo
from bot.storage.db import Store
from bot.text import fold

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_RANDOM = 4
AREA_PART_MAX = 10
INVITE_DAYS = 7.0


class InviteError(Exception):
    """A code that cannot be redeemed; `reason` is "unknown", "expired" or "used"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Invite:
    """A one-time invite code to an area's digital-tech team."""

    code: str
    area: str
    expires_at: str
    created_by: int


def normalize_code(text: str) -> str:
    """How a typed code is compared: upper case, no spaces, dashes kept only between parts."""
    parts = fold(text).upper().replace("_", "-").replace(" ", "-").split("-")
    return "-".join(p for p in parts if p)


def area_part(area_id: str) -> str:
    """The readable middle of a code: "chi-lang" -> "CHILANG"."""
    letters = "".join(c for c in area_id.upper() if c.isascii() and c.isalnum())
    return letters[:AREA_PART_MAX] or "AREA"


class RoleService:
    """Invite codes and role grants, on the users table and an "invites" table."""

    def __init__(self, store: Store, users: UserRepo) -> None:
        self._store = store
        self._users = users
        self._invites = store.table("invites", indexes=("code",))

    def make_invite(self, area: str, by: User, now: datetime, days: float = INVITE_DAYS) -> Invite:
        """Store a new one-time code for `area`, valid `days` days."""
        while True:
            tail = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_RANDOM))
            code = f"TCN-{area_part(area)}-{tail}"
            if not self._store.find(self._invites, "code", code):
                break
        expires = (now + timedelta(days=days)).isoformat()
        self._invites.insert(
            {
                "code": code,
                "area": area,
                "created_by": by.id,
                "created_at": now.isoformat(),
                "expires_at": expires,
                "used_by": 0,
                "used_at": "",
            }
        )
        log.info("user %s made an invite code for area %s", by.id, area)
        return Invite(code, area, expires, by.id)

    def redeem(self, text: str, user: User, now: datetime) -> str:
        """Make `user` a team member of the code's area and return the area; or InviteError."""
        docs = self._store.find(self._invites, "code", normalize_code(text))
        if not docs:
            raise InviteError("unknown")
        doc = docs[0]
        used_by = int(doc.get("used_by") or 0)
        if used_by and used_by != user.id:
            raise InviteError("used")
        if not used_by:
            if datetime.fromisoformat(str(doc["expires_at"])) <= now:
                raise InviteError("expired")
            self._invites.update(
                {"used_by": user.id, "used_at": now.isoformat()}, doc_ids=[doc.doc_id]
            )
        area = str(doc["area"])
        self.grant(user, TEAM, area)
        log.info("user %s joined the team of %s with an invite code", user.id, area)
        return area

    def grant(self, user: User, role: str, area: str = "") -> None:
        """Give `user` ADMIN, or TEAM of `area` (idempotent)."""
        if role not in (ADMIN, TEAM):
            raise ValueError(f"unknown role {role!r}")
        if role not in user.roles:
            user.roles.append(role)
        if role == TEAM and area and area not in user.team_areas:
            user.team_areas.append(area)
        self._users.save(user)

    def revoke(self, user: User, role: str, area: str = "") -> None:
        """Take ADMIN away, or TEAM of one area (every area when `area` is empty)."""
        if role == TEAM and area:
            user.team_areas = [a for a in user.team_areas if a != area]
            if not user.team_areas and TEAM in user.roles:
                user.roles.remove(TEAM)
        elif role in user.roles:
            user.roles.remove(role)
            if role == TEAM:
                user.team_areas = []
        self._users.save(user)

    def holders(self) -> list[User]:
        """Users holding a granted role, admins first, then by id."""
        found = {u.id: u for role in (ADMIN, TEAM) for u in self._users.with_role(role)}
        return sorted(found.values(), key=lambda u: (ADMIN not in u.roles, u.id))

    def forget_user(self, user: User) -> None:
        """Unlink a deleted user's name from codes they made or used (the codes stay spent)."""
        for field in ("created_by", "used_by"):
            for doc in self._invites.search(lambda d, f=field: d.get(f) == user.id):
                self._invites.update({field: -1}, doc_ids=[doc.doc_id])
