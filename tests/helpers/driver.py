"""Drive whole conversations through the channel-neutral engine, as a user would."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.app import BotApp
from bot.channels.plain import incoming_text
from bot.config import Settings
from bot.core.clock import FakeClock
from bot.core.fmt import to_plain
from bot.core.types import Incoming, Reply
from tests.helpers.msgids import said

MAIN_MENU = "<b>Main menu</b>\n{You_name}, what would you like to do?"


class Chat:
    """One user talking to the bot; keeps what the bot said last."""

    def __init__(self, app: BotApp, user_key: str = "web:user1", name: str = "Lan") -> None:
        self.app = app
        self.user_key = user_key
        self.channel = user_key.split(":", 1)[0]
        self.name = name
        self.last: list[Reply] = []
        self._event = 0

    async def send(self, msg: Incoming) -> list[Reply]:
        """Send any Incoming and return the replies."""
        self.last = await self.app.engine.handle(msg)
        return self.last

    def _base(self, **extra: Any) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "user_key": self.user_key,
            "display_name": self.name,
            **extra,
        }

    async def say(self, text: str) -> list[Reply]:
        """Type text (or a /command)."""
        return await self.send(
            incoming_text(self.channel, self.user_key, text, display_name=self.name)
        )

    async def tap(self, payload: str) -> list[Reply]:
        """Press a button by its payload."""
        return await self.send(Incoming(kind="button", payload=payload, **self._base()))

    async def tap_label(self, fragment: str) -> list[Reply]:
        """Press the button of the last replies whose label contains `fragment`."""
        for label, payload in self.buttons():
            if fragment.lower() in label.lower():
                return await self.tap(payload)
        raise AssertionError(f"no button with {fragment!r} in {self.buttons()}")

    async def share_contact(self, phone: str) -> list[Reply]:
        """Share a phone number the way Telegram's contact button does."""
        return await self.send(Incoming(kind="contact", phone=phone, **self._base()))

    async def photo(self, ref: str = "tg:PHOTO1", caption: str = "") -> list[Reply]:
        """Send a photo."""
        return await self.send(Incoming(kind="photo", photo=ref, text=caption, **self._base()))

    async def other(self, kind: str) -> list[Reply]:
        """Send a sticker, voice note, location..."""
        return await self.send(Incoming(kind=kind, **self._base()))  # type: ignore[arg-type]

    def buttons(self) -> list[tuple[str, str]]:
        """(label, payload) of every button in the last replies."""
        return [(b.label, b.payload) for r in self.last for row in r.buttons for b in row]

    def text(self) -> str:
        """All of the last replies as plain text."""
        return "\n".join(to_plain(r.text) for r in self.last)

    def said(self, msgid: str, **values: Any) -> bool:
        """Whether the last replies showed the message `msgid` (in this user's language)."""
        user = self.app.services.users.by_key(self.user_key)
        return said(self.text(), msgid, user.lang if user else "vi", **values)

    async def onboard(
        self,
        *,
        role: str = "farmer",
        phone: str = "0912345678",
        area: str = "chi lang",
        address: str = "chi",
    ) -> None:
        """Register quickly: name, form of address, phone, area, role, (crops), consent."""
        await self.say("/start")
        await self.say(self.name)
        await self.tap(f"addr:{address}")
        await self.say(phone)
        await self.say(area)
        if any(p.startswith("area:") for _label, p in self.buttons()):
            await self.tap(next(p for _l, p in self.buttons() if p.startswith("area:")))
        await self.tap(role)
        if role == "farmer":
            await self.tap("crop:na-chi-lang")
            await self.tap("crop:done")
        await self.tap("consent:yes")
        assert self.said(MAIN_MENU), self.text()


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test bot: its own data dir, a free port, no credentials."""
    return replace(Settings(data_dir=data_dir, web_port=0), **overrides)


def make_app(data_dir: Path, clock: FakeClock | None = None, **overrides: Any) -> BotApp:
    """A bot app on `data_dir` (English-free defaults: Vietnamese locale)."""
    return BotApp(settings_for(data_dir, **overrides), clock or FakeClock())
