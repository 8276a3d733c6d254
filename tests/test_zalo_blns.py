"""Naughty strings typed on both Zalo channels: every one answered, nothing the platforms refuse."""

from __future__ import annotations

import json
from pathlib import Path

from tests.zalo_helpers import BotUser, OAUser, ZaloBot, zalo

__all__ = ["zalo"]

BLNS = [
    s for s in json.loads(Path("tests/data/blns.json").read_text(encoding="utf-8")) if s.strip()
]


async def test_naughty_strings_as_answers_on_both_channels(zalo: ZaloBot) -> None:
    oa, bot = OAUser(zalo, "n1"), BotUser(zalo, "n2")
    await oa.say("Xin chào")
    await bot.say("Xin chào")
    for text in BLNS:
        assert await oa.say(text), text
        assert await bot.say(text), text
    # Everyone is still somewhere sensible in onboarding, and both platforms accepted it all.
    assert zalo.oa_fake.violations == [] and zalo.bot_fake.violations == []
    for key in ("zalo_oa:n1", "zalo_bot:n2"):
        user = zalo.app.services.users.by_key(key)
        assert user is not None and not user.registered
