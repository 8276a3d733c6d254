"""The value types the engine hands around: a person (User) and their place in a flow."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class User:
    """A person using the bot on one or more channels."""

    id: int = 0
    name: str = ""
    phone: str = ""  # +84...
    area: str = ""  # area id from content/areas.yaml
    role: str = ""  # "farmer" or "buyer"
    crops: list[str] = field(default_factory=list)  # product ids or typed names
    consent: bool = False  # agrees to receive guidance messages
    lang: str = "vi"
    address: str = ""  # how they want to be called: a key of bot.address.TERMS; "" = not asked
    registered: bool = False
    roles: list[str] = field(default_factory=list)  # "admin", "team"
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


@dataclass
class Conversation:
    """A user's position in a flow. An empty `flow` means: at the main menu."""

    user_id: int
    flow: str = ""
    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    tries: int = 0
    form_id: str = ""

    def start(self, flow: str, state: str, data: dict[str, Any]) -> None:
        """Begin a new run of a flow."""
        self.flow, self.state, self.data, self.tries = flow, state, dict(data), 0
        self.form_id = secrets.token_hex(6)

    def clear(self) -> None:
        """Back to the main menu."""
        self.flow, self.state, self.data, self.tries, self.form_id = "", "", {}, 0, ""
