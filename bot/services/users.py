"""Users: profiles, platform identities, roles."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from bot.storage.db import Store

log = logging.getLogger(__name__)

FARMER = "farmer"
BUYER = "buyer"
ADMIN = "admin"
TEAM = "team"


@dataclass
class User:
    """A person using the bot on one or more channels."""

    id: int = 0
    name: str = ""
    phone: str = ""  # +84...
    area: str = ""  # area id from content/areas.yaml
    role: str = ""  # FARMER or BUYER
    crops: list[str] = field(default_factory=list)  # product ids or typed names
    consent: bool = False  # agrees to receive guidance messages
    lang: str = "vi"
    address: str = ""  # how they want to be called: a key of bot.address.TERMS; "" = not asked
    registered: bool = False
    roles: list[str] = field(default_factory=list)  # ADMIN, TEAM
    team_areas: list[str] = field(default_factory=list)
    ident: list[str] = field(default_factory=list)  # "telegram:123", "web:ab12..."
    last_channel: str = ""  # the user key last written from: notifications go there
    blocked: bool = False  # the user blocked the bot: stop sending
    created_at: str = ""

    @property
    def platform_ids(self) -> dict[str, str]:
        """Channel -> platform id, from the identities."""
        return dict(tuple(key.split(":", 1)) for key in self.ident if ":" in key)  # type: ignore[misc]

    @classmethod
    def from_doc(cls, doc: dict[str, Any], doc_id: int) -> User:
        """Build a user from a stored document, ignoring fields this version does not know."""
        known = {f.name for f in fields(cls)}
        user = cls(**{k: v for k, v in doc.items() if k in known})
        user.id = doc_id
        return user


class UserRepo:
    """Stored users, found by id, by platform identity or by phone."""

    def __init__(self, store: Store, admin_telegram_ids: frozenset[str] = frozenset()) -> None:
        self._store = store
        self._table = store.table("users", indexes=("ident", "phone", "area", "role", "roles"))
        self._admin_keys = {f"telegram:{i}" for i in admin_telegram_ids}

    def get(self, user_id: int) -> User | None:
        """The user with this id, if any."""
        doc = self._table.get(doc_id=user_id)
        return User.from_doc(dict(doc), doc.doc_id) if doc and not isinstance(doc, list) else None

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
