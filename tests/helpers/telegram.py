"""A real bot (python-telegram-bot, the engine, the store) talking to the fake Bot API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.app import BotApp
from bot.channels.telegram import TelegramChannel
from bot.core.clock import FakeClock
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers.driver import make_app
from tests.helpers.msgids import said


class TelegramBot:
    """Start, restart and talk to the bot over the fake Telegram server."""

    def __init__(
        self, fake: FakeTelegram, data_dir: Path, clock: FakeClock, **settings: Any
    ) -> None:
        self.fake = fake
        self.data_dir = data_dir
        self.clock = clock
        self.settings = settings
        self.app: BotApp | None = None
        self.channel: TelegramChannel | None = None
        self._fetched_before = 0  # updates handed to an earlier run of the bot

    async def start(self) -> BotApp:
        """Open the store and start long polling against the fake."""
        app = make_app(
            self.data_dir,
            self.clock,
            telegram_token=self.fake.token,
            telegram_api_base_url=self.fake.base_url,
            **self.settings,
        )
        channel = TelegramChannel(app.settings, app.engine)
        self._fetched_before = self.fake.updates.handed_out
        await channel.start()
        app.on_stop(channel.stop)
        self.app, self.channel = app, channel
        return app

    async def stop(self) -> None:
        """Stop polling and close the store."""
        if self.app is not None:
            await self.app.stop()
            self.app = self.channel = None

    async def restart(self) -> BotApp:
        """Stop and start again on the same data dir (a deploy, a crash recovery)."""
        await self.stop()
        return await self.start()

    async def settle(self, timeout: float = 10) -> None:
        """Wait until the bot fetched every update sent so far and finished each (replies sent)."""
        channel, queue = self.channel, self.fake.updates
        assert channel is not None, "the bot is not running"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (
            queue.all_delivered() and channel.handled >= queue.handed_out - self._fetched_before
        ):
            if loop.time() > deadline:
                fetched = queue.handed_out - self._fetched_before
                raise AssertionError(
                    f"waited {timeout}s for the bot to handle every update: "
                    f"{queue.pending_count()} unconfirmed, {fetched} fetched, "
                    f"{channel.handled} handled"
                )
            await asyncio.sleep(0.005)  # polls the counters above; no time-based guess

    async def text(self, user_id: int, text: str, **kw: Any) -> list[dict[str, Any]]:
        """A user types text; returns the bot's new messages to that chat."""
        self.fake.send_text(user_id, text, **kw)
        return await self._new(user_id)

    async def tap(self, user_id: int, data: str) -> list[dict[str, Any]]:
        """A user presses an inline button (on the bot's last message)."""
        self.fake.send_callback(user_id, data)
        return await self._new(user_id)

    async def contact(self, user_id: int, phone: str, *, own: bool = True) -> list[dict[str, Any]]:
        """A user shares a contact."""
        self.fake.send_contact(user_id, phone, own=own)
        return await self._new(user_id)

    async def onboard(
        self,
        user_id: int,
        *,
        name: str = "Lan",
        phone: str = "+84912345678",
        role: str = "farmer",
        address: str = "chi",
    ) -> None:
        """Register a user in Chi Lăng by tapping through onboarding (a farmer grows na)."""
        await self.text(user_id, "/start", first_name=name)
        await self.tap(user_id, "name:keep")
        await self.tap(user_id, f"addr:{address}")
        await self.contact(user_id, phone)
        await self.text(user_id, "chi lang")
        await self.tap(user_id, role)
        if role == "farmer":
            await self.tap(user_id, "crop:na-chi-lang")
            await self.tap(user_id, "crop:done")
        assert said(
            texts(await self.tap(user_id, "consent:yes")),
            "<b>Main menu</b>\n{You_name}, what would you like to do?",
        )

    async def _new(self, chat_id: int, timeout: float = 10) -> list[dict[str, Any]]:
        await self.settle(timeout)
        return self.new_messages(chat_id)

    def new_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages to the chat since the last call."""
        sent = self.fake.messages_to(chat_id)
        seen = self._seen.get(chat_id, 0)
        self._seen[chat_id] = len(sent)
        return sent[seen:]

    @property
    def _seen(self) -> dict[int, int]:
        if not hasattr(self, "_seen_counts"):
            self._seen_counts: dict[int, int] = {}
        return self._seen_counts


def texts(messages: list[dict[str, Any]]) -> str:
    """The text (or caption) of messages, joined."""
    return "\n".join(m.get("text") or m.get("caption") or "" for m in messages)


def payloads(messages: list[dict[str, Any]]) -> list[str]:
    """callback_data of every inline button in messages."""
    out = []
    for m in messages:
        markup = m.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            out.extend(b["callback_data"] for b in row if "callback_data" in b)
    return out
