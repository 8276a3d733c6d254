"""Channel-neutral message types: what a user sent (Incoming) and what the bot answers (Reply)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

InputKind = Literal[
    "text", "command", "button", "contact", "location", "photo", "voice", "sticker", "other"
]


@dataclass(frozen=True)
class Button:
    """One tappable choice; `payload` is a short stable ASCII string (Telegram allows 64 bytes)."""

    label: str
    payload: str
    url: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One thing a user sent, as every channel sees it.

    `user_key` is "<channel>:<platform user id>", e.g. "telegram:123" or "web:3f9c...".
    `event_id` is the platform's id of this update, used to handle a redelivery once.
    """

    channel: str
    user_key: str
    kind: InputKind
    text: str = ""
    payload: str = ""
    command: str = ""
    args: str = ""
    phone: str = ""
    latitude: float | None = None
    longitude: float | None = None
    photo: str = ""
    display_name: str = ""
    event_id: str = ""


@dataclass
class Reply:
    """One message to show a user.

    `text` is HTML in Telegram's subset (<b>, <i>, <code>, <a href>); every value a user typed
    must be escaped with `bot.core.fmt.esc` / `fmt` before it goes in. Channels without
    formatting strip the tags. `buttons` are rows of buttons.
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    request_contact: str = ""  # label of a "share my phone" button, if asked for
    request_location: str = ""
    photos: list[str] = field(default_factory=list)  # channel file refs or media paths
    document: tuple[str, bytes] | None = None  # (file name, content) e.g. a CSV export
    edit_key: str = ""  # a message updated in place (e.g. broadcast progress), where supported
    # The same question redrawn after a tap on its own button (a toggle, a page arrow): a
    # channel that can edit messages replaces the one the button was pressed on.
    redraw: bool = False
    toast: str = ""  # a short notice for the tap ("Đã chọn Na Chi Lăng"), where supported
    # A voice note to play: a channel ref ("tg:<file_id>", "media:<file>", a URL). Channels
    # that cannot send audio show `audio_link` instead, a page that plays it in a browser.
    audio: str = ""
    audio_link: str = ""
