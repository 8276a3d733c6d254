"""Users: profiles, platform identities, roles."""

from __future__ import annotations

import logging
from dataclasses import asdict

from bot.core.model import User
from bot.storage.db import Store

log = logging.getLogger(__name__)

__all__ = ["ADMIN", "BUYER", "FARMER", "TEAM", "User", "UserRepo"]

FARMER = "farmer"
BUYER = "buyer"
ADMIN = "admin"
TEAM = "team"


class UserRepo:
    """Stored users, found by id, by platform identity or by phone."""

    def __init__(self, store: Store, admin_telegram_ids: frozenset[str] = frozenset()) -> None:
        self._store = store
        self._table = store.table("users", indexes=("ident", "phone", "area", "role", "roles"))
        self._admin_keys = {f"telegram:{i}" for i in admin_telegram_ids}

    def get(self, user_id: int) -> User | None:
        """The user with this id, if any."""
        doc = self._table.by_id(user_id)
        return User.from_doc(dict(doc), doc.doc_id) if doc else None

    def by_key(self, user_key: str) -> User | None:
        """The user behind a "<channel>:<id>" identity."""
        docs = self._store.find(self._table, "ident", user_key)
        return User.from_doc(dict(docs[0]), docs[0].doc_id) if docs else None

    def by_phone(self, phone: str) -> list[User]:
        """Users registered with this +84 phone number."""
        return [
            User.from_doc(dict(d), d.doc_id) for d in self._store.find(self._table, "phone", phone)
        ]

    def in_area(self, area: str) -> list[User]:
        """Registered users of an area."""
        docs = self._store.find(self._table, "area", area)
        return [User.from_doc(dict(d), d.doc_id) for d in docs if d.get("registered")]

    def ids_in_area(self, area: str) -> list[int]:
        """Ids of every user of an area, registered or not, ascending (reads no document)."""
        return self._store.find_ids(self._table, {"area": area})

    def with_role(self, role: str) -> list[User]:
        """Users holding a granted role (ADMIN or TEAM)."""
        return [
            User.from_doc(dict(d), d.doc_id) for d in self._store.find(self._table, "roles", role)
        ]

    def admins(self) -> list[User]:
        """Every admin: granted the role, or configured by Telegram id (ADMIN_TELEGRAM_IDS)."""
        found = {u.id: u for u in self.with_role(ADMIN)}
        for key in sorted(self._admin_keys):
            user = self.by_key(key)
            if user is not None:
                found.setdefault(user.id, user)
        return list(found.values())

    def all(self) -> list[User]:
        """Every user (for reports and broadcasts; not for hot paths)."""
        return [User.from_doc(dict(d), d.doc_id) for d in self._table.all()]

    def create(self, user_key: str, name: str, created_at: str) -> User:
        """Store a new, not yet registered user for this identity."""
        user = User(name=name, ident=[user_key], last_channel=user_key, created_at=created_at)
        doc = asdict(user)
        doc.pop("id")
        user.id = self._table.insert(doc)
        return user

    def save(self, user: User) -> None:
        """Write the whole user back (durably)."""
        doc = asdict(user)
        doc.pop("id")
        self._table.update(doc, doc_ids=[user.id])

    def delete(self, user_id: int) -> None:
        """Remove a user for good."""
        self._table.remove(doc_ids=[user_id])

    def is_admin(self, user: User) -> bool:
        """Admin by configuration (ADMIN_TELEGRAM_IDS) or by a grant."""
        return ADMIN in user.roles or any(k in self._admin_keys for k in user.ident)

    def is_team(self, user: User) -> bool:
        """Member of a community digital-tech team (of at least one area)."""
        return TEAM in user.roles and bool(user.team_areas)
