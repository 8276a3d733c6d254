"""Questions the bot could not answer, handed to the digital-tech team of the asker's area.

A question is `logged` when the bot admits not knowing, `open` once the farmer asks for it to
go to the team, then `answered` (the reply was relayed) or `dismissed` by an admin.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.services.users import TEAM, User, UserRepo
from bot.storage.db import Store

LOGGED = "logged"
OPEN = "open"
ANSWERED = "answered"
DISMISSED = "dismissed"
TEXT = "text"
VOICE = "voice"


@dataclass
class Handoff:
    """One question for people to answer."""

    id: int = 0
    asker: int = 0  # user id
    area: str = ""  # the asker's area when asked
    question: str = ""
    kind: str = TEXT  # TEXT or VOICE (a voice note the bot cannot transcribe)
    media: str = ""  # channel ref of the voice note
    media_token: str = ""  # unguessable: /audio/<token> plays the voice note in a browser
    answer_media: str = ""  # a voice answer's channel ref, when the team answered by voice
    answer_token: str = ""
    status: str = LOGGED
    answer: str = ""
    answered_by: int = 0
    asked_at: str = ""
    answered_at: str = ""
    faq_id: int = 0  # the FAQ entry made from it, if any


class HandoffRepo:
    """Stored handoffs, found by status and area."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table(
            "handoffs", indexes=("status", "asker", "media_token", "answer_token")
        )

    def get(self, handoff_id: int) -> Handoff | None:
        """The handoff with this id, if any."""
        doc = self._table.by_id(handoff_id)
        return _handoff(dict(doc), doc.doc_id) if doc else None

    def log(
        self, asker: User, question: str, now: str, kind: str = TEXT, media: str = ""
    ) -> Handoff:
        """Record a question the bot could not answer (durably)."""
        handoff = Handoff(
            asker=asker.id,
            area=asker.area,
            question=question,
            kind=kind,
            media=media,
            media_token=secrets.token_urlsafe(16) if media else "",
            asked_at=now,
        )
        handoff.id = self._table.insert(_doc(handoff))
        return handoff

    def audio(self, token: str) -> str:
        """The voice note (question or answer) a listening link's token names, or ""."""
        if not token:
            return ""
        for field, ref in (("media_token", "media"), ("answer_token", "answer_media")):
            docs = self._store.find(self._table, field, token)
            if docs:
                return str(docs[0].get(ref, ""))
        return ""

    def save(self, handoff: Handoff) -> None:
        """Write a changed handoff back (durably)."""
        self._table.update(_doc(handoff), doc_ids=[handoff.id])

    def with_status(self, status: str) -> list[Handoff]:
        """Handoffs in one status, oldest first."""
        docs = self._store.find(self._table, "status", status)
        return sorted((_handoff(dict(d), d.doc_id) for d in docs), key=lambda h: h.id)

    def open_for(self, user: User, is_admin: bool) -> list[Handoff]:
        """Open questions this person may answer: their areas', or all for an admin."""
        found = self.with_status(OPEN)
        return found if is_admin else [h for h in found if h.area in user.team_areas]

    def of_asker(self, user_id: int) -> list[Handoff]:
        """Everything one user asked."""
        docs = self._store.find(self._table, "asker", user_id)
        return [_handoff(dict(d), d.doc_id) for d in docs]

    def forget_user(self, user: User) -> None:
        """Erase a user's questions (and their name on answers they gave)."""
        mine = [h.id for h in self.of_asker(user.id)]
        if mine:
            self._table.remove(doc_ids=mine)
        for handoff in self.with_status(ANSWERED):
            if handoff.answered_by == user.id:
                handoff.answered_by = 0
                self.save(handoff)


def may_answer(users: UserRepo, user: User, handoff: Handoff) -> bool:
    """Whether this person may answer: a team member of the question's area, or an admin."""
    if users.is_admin(user):
        return True
    return TEAM in user.roles and handoff.area in user.team_areas


def team_of(users: UserRepo, area: str) -> list[User]:
    """Team members serving an area."""
    return [u for u in users.with_role(TEAM) if area and area in u.team_areas]


def _doc(handoff: Handoff) -> dict[str, Any]:
    doc = asdict(handoff)
    doc.pop("id")
    return doc


def _handoff(doc: dict[str, Any], doc_id: int) -> Handoff:
    known = {f.name for f in fields(Handoff)}
    handoff = Handoff(**{k: v for k, v in doc.items() if k in known})
    handoff.id = doc_id
    return handoff
