"""The whole bot (bot.server.start) wired to fake Zalo OA and Zalo Bot servers, and their users."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import BotApp
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_oa import ZaloOAChannel
from bot.core.clock import Clock, FakeClock
from bot.server import ZALO_BOT_KEY, ZALO_OA_KEY, start
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA
from tests.helpers.driver import settings_for
from tests.helpers.waiting import wait_until

SETTLE_LIMIT = 20.0  # seconds before a test gives up waiting for the bot (never asserted)


@dataclass
class ZaloBot:
    """A running bot with both Zalo channels, and the fakes it talks to."""

    app: BotApp
    runner: web.AppRunner
    oa_fake: FakeZaloOA
    bot_fake: FakeZaloBot

    @property
    def port(self) -> int:
        """The bot's web server port."""
        return int(self.runner.addresses[0][1])

    @property
    def oa(self) -> ZaloOAChannel:
        """The OA channel object."""
        return self.runner.app[ZALO_OA_KEY]

    @property
    def zbot(self) -> ZaloBotChannel:
        """The Zalo Bot channel object."""
        return self.runner.app[ZALO_BOT_KEY]

    async def settle_bot(self) -> None:
        """Wait until every queued Zalo Bot update was fetched and answered."""
        fake, zbot = self.bot_fake, self.zbot
        await wait_until(
            lambda: not fake._queue and zbot.received >= fake.handed_out,
            "the Zalo Bot to fetch and accept every queued update",
            SETTLE_LIMIT,
        )
        try:
            async with asyncio.timeout(SETTLE_LIMIT):
                await zbot.idle()
        except TimeoutError:
            raise AssertionError(
                f"waited {SETTLE_LIMIT}s for the Zalo Bot to finish the updates it accepted"
            ) from None


async def start_zalo_bot(
    data_dir: Path,
    clock: Clock,
    oa_fake: FakeZaloOA,
    bot_fake: FakeZaloBot,
    **overrides: Any,
) -> ZaloBot:
    """Start the bot (web server, both Zalo channels) against the fakes."""
    credentials: dict[str, Any] = {
        "zalo_oa_access_token": oa_fake.access_token,
        "zalo_oa_refresh_token": oa_fake.refresh_token,
        "zalo_app_id": oa_fake.app_id,
        "zalo_app_secret": oa_fake.app_secret,
        "zalo_oa_secret_key": oa_fake.oa_secret_key,
        "zalo_api_base_url": oa_fake.url,
        "zalo_oauth_base_url": oa_fake.url,
        "zalo_bot_token": bot_fake.token,
        "zalo_bot_api_base_url": bot_fake.url,
    }
    settings = settings_for(data_dir, **{**credentials, **overrides})
    app, runner = await start(settings, clock)
    bot = ZaloBot(app, runner, oa_fake, bot_fake)
    oa_fake.webhook_url = f"http://127.0.0.1:{bot.port}/webhooks/zalo-oa"
    return bot


class OAUser:
    """One person writing to the Official Account."""

    def __init__(self, bot: ZaloBot, user_id: str) -> None:
        self.bot = bot
        self.user_id = user_id
        self._seen = 0

    async def say(self, text: str) -> str:
        """Type text; the plain text the OA answered with."""
        await self.bot.oa_fake.say(self.user_id, text)
        return await self.answer()

    async def tap(self, fragment: str) -> str:
        """Tap a template button of the last message with buttons."""
        await self.bot.oa_fake.tap(self.user_id, fragment)
        return await self.answer()

    async def send(self, event: dict[str, Any]) -> str:
        """Deliver any event from this user; the answer."""
        assert await self.bot.oa_fake.deliver(event) == 200
        return await self.answer()

    async def answer(self) -> str:
        """What the OA sent since the last answer, joined."""
        await self.bot.oa.idle()
        texts = self.bot.oa_fake.texts(self.user_id)
        new, self._seen = texts[self._seen :], len(texts)
        return "\n".join(new)

    def buttons(self) -> list[str]:
        """Titles of the last template buttons."""
        return [b["title"] for b in self.bot.oa_fake.buttons(self.user_id)]

    async def choose(self, fragment: str) -> str:
        """Pick an option as a person would: tap its button, or type the number of its line."""
        if any(fragment.lower() in title.lower() for title in self.buttons()):
            return await self.tap(fragment)
        return await self.say(number_of(self.bot.oa_fake.texts(self.user_id), fragment))


def number_of(texts: list[str], fragment: str) -> str:
    """The number of the latest numbered line containing `fragment`."""
    for text in reversed(texts):
        for line in text.splitlines():
            number, dot, label = line.partition(". ")
            if dot and number.isdigit() and fragment.lower() in label.lower():
                return number
    raise AssertionError(f"no numbered line with {fragment!r} in {texts[-3:]}")


class BotUser:
    """One person chatting with the Zalo Bot."""

    def __init__(self, bot: ZaloBot, chat_id: str) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self._seen = 0

    async def say(self, text: str) -> str:
        """Type text; the text the bot answered with."""
        return await self.send(self.bot.bot_fake.update(self.chat_id, text))

    async def choose(self, fragment: str) -> str:
        """Pick a numbered option by typing its number."""
        return await self.say(number_of(self.bot.bot_fake.texts(self.chat_id), fragment))

    async def send(self, update: dict[str, Any]) -> str:
        """Deliver any update (by long polling); the answer."""
        self.bot.bot_fake.push(update)
        return await self.answer()

    async def answer(self) -> str:
        """What the bot sent since the last answer, joined."""
        await self.bot.settle_bot()
        texts = self.bot.bot_fake.texts(self.chat_id)
        new, self._seen = texts[self._seen :], len(texts)
        return "\n".join(new)


@pytest.fixture
async def zalo(tmp_path: Path, clock: FakeClock) -> AsyncIterator[ZaloBot]:
    """The bot running with both Zalo channels against fresh fakes."""
    async with FakeZaloOA(clock=clock.now) as oa_fake, FakeZaloBot() as bot_fake:
        bot = await start_zalo_bot(tmp_path / "data", clock, oa_fake, bot_fake)
        try:
            yield bot
        finally:
            await bot.app.stop()
        assert oa_fake.violations == [], oa_fake.violations
        assert bot_fake.violations == [], bot_fake.violations
