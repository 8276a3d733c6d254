"""Broadcasts: guidance a team member or admin sends to the farmers of their areas.

A broadcast is stored when its author confirms; its recipients are written to the outbox
(bot/services/outbox.py) then, or when its scheduled time comes. What a recipient sees is
`render`, the same function the author's preview uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from tinydb.table import Document

from bot.core.fmt import esc
from bot.core.types import Button, Reply
from bot.i18n import _, pgettext
from bot.services.users import BUYER, FARMER, TEAM, User, UserRepo
from bot.storage.db import Store

log = logging.getLogger(__name__)


SCHEDULED = "scheduled"
SENDING = "sending"
DONE = "done"
CANCELLED = "cancelled"

TEXT_MAX = 3500  # leaves room for the header within Telegram's 4096
CAPTION_TEXT_MAX = 900  # with a photo the whole message is one caption (Telegram: 1024)
OPT_OUT = "bc:off"  # the payload of the button under every broadcast
PREVIEW_OPT_OUT = "bc:pv"  # the same button in the author's preview: does nothing

ROLE_FILTERS = ("", FARMER, BUYER, TEAM)
TRAINED_FILTERS = ("", "yes", "no")


@dataclass
class Audience:
    """Who a broadcast goes to: areas (empty = every area), narrowed by crop, role, training."""

    areas: list[str] = field(default_factory=list)
    crops: list[str] = field(default_factory=list)
    role: str = ""  # "" any, FARMER, BUYER or TEAM
    trained: str = ""  # "" any, "yes", "no"

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Audience:
        """Rebuild from stored or form data."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


@dataclass
class Broadcast:
    """One message to many people, and where its delivery stands."""

    id: int = 0
    author_id: int = 0
    text: str = ""
    photo: str = ""
    audience: dict[str, Any] = field(default_factory=dict)
    status: str = SCHEDULED
    due_at: str = ""  # ISO UTC; sending starts then
    created_at: str = ""
    started_at: str = ""
    finished_at: str = ""
    total: int = 0
    form_id: str = ""
    stop_reported: bool = False  # a stop's report was sent (by one of the senders)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], doc_id: int) -> Broadcast:
        """Build from a stored document."""
        known = {f.name for f in fields(cls)}
        found = cls(**{k: v for k, v in doc.items() if k in known})
        found.id = doc_id
        return found


def render(broadcast_text: str, photo: str, *, preview: bool = False) -> Reply:
    """The message as a recipient sees it, in the current language."""
    header = pgettext("many", "📢 <b>Notice from the digital-tech team</b>")
    button = Button(_("🔕 Stop these notices"), PREVIEW_OPT_OUT if preview else OPT_OUT)
    return Reply(
        f"{header}\n\n{esc(broadcast_text)}",
        buttons=[[button]],
        photos=[photo] if photo else [],
    )


TrainedFn = Callable[[int], bool]


class BroadcastRepo:
    """Stored broadcasts and who they reach."""

    def __init__(self, store: Store, users: UserRepo, is_trained: TrainedFn | None) -> None:
        self._store = store
        self._users = users
        self._table = store.table("broadcasts", indexes=("status", "form_id", "author_id"))
        self._is_trained = is_trained

    @property
    def can_filter_trained(self) -> bool:
        """Whether lesson progress is known, so "trained / not trained" can narrow an audience."""
        return self._is_trained is not None

    def recipients(self, audience: Audience, author_id: int = 0) -> list[User]:
        """Registered, reachable users who agreed to guidance and fit the audience.

        The author is left out: they saw the preview.
        """
        if audience.areas:
            found = {u.id: u for area in audience.areas for u in self._users.in_area(area)}
            users = list(found.values())
        else:
            users = [u for u in self._users.all() if u.registered]
        wanted_crops = set(audience.crops)
        out = []
        for user in users:
            if not user.consent or user.blocked or user.id == author_id:
                continue
            if audience.role == TEAM and TEAM not in user.roles:
                continue
            if audience.role in (FARMER, BUYER) and user.role != audience.role:
                continue
            if wanted_crops and not wanted_crops & set(user.crops):
                continue
            trained = self._is_trained
            if audience.trained and trained and trained(user.id) != (audience.trained == "yes"):
                continue
            out.append(user)
        return sorted(out, key=lambda u: u.id)

    def get(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast with this id."""
        doc = self._table.by_id(broadcast_id)
        if doc is None:
            return None
        return Broadcast.from_doc(dict(doc), doc.doc_id)

    def by_form(self, form_id: str) -> Broadcast | None:
        """The broadcast a compose form already created (confirm pressed twice, redelivery)."""
        docs = self._store.find(self._table, "form_id", form_id) if form_id else []
        return Broadcast.from_doc(dict(docs[0]), docs[0].doc_id) if docs else None

    def create(
        self,
        author: User,
        text: str,
        photo: str,
        audience: Audience,
        due_at: datetime,
        now: datetime,
        form_id: str,
    ) -> Broadcast:
        """Store a broadcast (once per form), due at `due_at`."""
        existing = self.by_form(form_id)
        if existing is not None:
            return existing
        broadcast = Broadcast(
            author_id=author.id,
            text=text,
            photo=photo,
            audience=asdict(audience),
            status=SCHEDULED,
            due_at=due_at.isoformat(),
            created_at=now.isoformat(),
            form_id=form_id,
        )
        doc = asdict(broadcast)
        doc.pop("id")
        broadcast.id = self._table.insert(doc)
        log.info("user %s created broadcast %s", author.id, broadcast.id)
        return broadcast

    def update(self, broadcast_id: int, **changes: Any) -> None:
        """Change stored fields of a broadcast (durably)."""
        self._table.update(changes, doc_ids=[broadcast_id])

    async def update_if(
        self, broadcast_id: int, where: Callable[[Broadcast], bool], **changes: Any
    ) -> bool:
        """Change stored fields if `where` holds and no other process changed it first."""

        def holds(doc: Document) -> bool:
            return where(Broadcast.from_doc(dict(doc), broadcast_id))

        done = await self._store.set_if_unchanged(self._table, [broadcast_id], changes, holds)
        return bool(done)

    def with_status(self, status: str) -> list[Broadcast]:
        """Broadcasts in one status, oldest first."""
        docs = self._store.find(self._table, "status", status)
        return sorted((Broadcast.from_doc(dict(d), d.doc_id) for d in docs), key=lambda b: b.id)

    def due(self, now: datetime) -> list[Broadcast]:
        """Scheduled broadcasts whose time has come."""
        return [b for b in self.with_status(SCHEDULED) if datetime.fromisoformat(b.due_at) <= now]

    def forget_author(self, user: User) -> None:
        """Unlink a deleted user from the broadcasts they wrote (recipients keep the message)."""
        for doc in self._store.find(self._table, "author_id", user.id):
            self._table.update({"author_id": 0}, doc_ids=[doc.doc_id])
