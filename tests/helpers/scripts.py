"""Conversation scripts played against one in-process bot (the reference) or several processes.

A script is a list of steps, each one person's update: typed text, a button press, a shared
contact. Played once on a single in-process bot (real python-telegram-bot against its own fake
Bot API, waiting on the bot's count of handled updates), it records how many messages and
edits each person's chat has after every step: those are the replies each step must get.
Played on several processes, each step waits until every chat shows exactly those numbers, so
a lost reply times out and a doubled one fails at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.clock import FakeClock
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers.telegram import TelegramBot, payloads

__all__ = ["payloads"]

# (messages sent, messages edited) in one chat
Tally = tuple[int, int]


@dataclass(frozen=True)
class Step:
    """One update from person number `who` of the script: kind text|tap|tap_prefix|contact."""

    who: int
    kind: str
    arg: str


def text(who: int, value: str) -> Step:
    return Step(who, "text", value)


def tap(who: int, payload: str) -> Step:
    return Step(who, "tap", payload)


def tap_prefix(who: int, prefix: str) -> Step:
    """Press the first button on the bot's last message whose payload starts with `prefix`."""
    return Step(who, "tap_prefix", prefix)


def contact(who: int, phone: str) -> Step:
    return Step(who, "contact", phone)


def onboarding(who: int, phone: str, role: str = "farmer") -> list[Step]:
    """Registration in Chi Lăng by buttons (a farmer growing na, or a buyer)."""
    steps = [
        text(who, "/start"),
        tap(who, "name:keep"),
        tap(who, "addr:chi"),
        contact(who, phone),
        text(who, "chi lang"),
        tap(who, role),
    ]
    if role == "farmer":
        steps += [tap(who, "crop:na-chi-lang"), tap(who, "crop:done")]
    return [*steps, tap(who, "consent:yes")]


def listing(who: int) -> list[Step]:
    """A listing of na without photos, posted."""
    return [
        tap(who, "listings"),
        text(who, "na chi lang"),
        tap(who, "lf:skip"),
        text(who, "200"),
        text(who, "45k"),
        tap(who, "lf:now"),
        tap(who, "lf:skip"),
        tap(who, "lf:c:done"),
        tap(who, "lf:skip"),
        tap(who, "lf:ok"),
    ]


def order(who: int, seller: int) -> list[Step]:
    """A buyer types the code of the seller's last shared listing and orders 10 kg of it."""
    return [
        Step(who, "code_of", str(seller)),
        tap(who, "l:order"),
        text(who, "10 kg"),
        tap(who, "nm:keep"),
        tap(who, "ph:keep"),
        text(who, "12 Trần Đăng Ninh, Lạng Sơn"),
        tap(who, "nt:skip"),
        tap(who, "cf:yes"),
    ]


def update_for(fake: FakeTelegram, chats: Sequence[int], step: Step) -> dict[str, Any]:
    """The Telegram update a step sends (button presses are on the bot's last message)."""
    chat = chats[step.who]
    if step.kind == "text":
        return fake.build.text(chat, step.arg)
    if step.kind == "code_of":  # "MUA <code>", the code from a link the bot gave the seller
        links = re.findall(r"/p/(\w+)", "".join(transcript(fake, chats[int(step.arg)])))
        assert links, f"no listing link in chat {chats[int(step.arg)]}"
        return fake.build.text(chat, f"MUA {links[-1]}")
    if step.kind == "contact":
        return fake.build.contact(chat, step.arg)
    payload = step.arg
    if step.kind == "tap_prefix":
        shown = payloads(fake.messages_to(chat)[-1:])
        payload = next((p for p in shown if p.startswith(step.arg)), "")
        assert payload, f"no button {step.arg}… on the last message\n{fake.chat_log(chat)}"
    return fake.build.callback(chat, payload, None)


def tally(fake: FakeTelegram, chat: int) -> Tally:
    return fake.sends(chat), len(fake.edits(chat))


@dataclass(frozen=True)
class Reference:
    """What one in-process bot answered to a script."""

    after: list[list[Tally]]  # after each step, every person's chat tally
    transcripts: list[list[str]]  # at the end, every person's chat, `masked` (or none)

    def split(self, steps: int) -> tuple[Reference, Reference]:
        """The first `steps` steps and the rest, each counted from its start (no transcripts)."""
        start = self.after[steps - 1]
        rest = [
            [(s - s0, e - e0) for (s, e), (s0, e0) in zip(row, start, strict=True)]
            for row in self.after[steps:]
        ]
        return Reference(self.after[:steps], []), Reference(rest, [])


def transcript(fake: FakeTelegram, chat: int) -> list[str]:
    """The text of the bot's messages in a chat, edits applied."""
    return [m.get("text") or m.get("caption") or "" for m in fake.messages_to(chat)]


def masked(lines: list[str]) -> list[str]:
    """Transcript lines with numbers, links and codes masked (they differ from run to run)."""
    return [re.sub(r"\d+", "#", _CODES.sub("<code>", t)) for t in lines]


_CODES = re.compile(r"https?://\S+|/p/\w+|\bp_\w+|MUA \w+")


async def reference(steps: Sequence[Step], people: int, data_dir: Path) -> Reference:
    """Play the script on one in-process bot (embedded store) and record its answers."""
    chats = [9_000 + n for n in range(people)]
    after: list[list[Tally]] = []
    async with FakeTelegram() as fake:
        bot = TelegramBot(fake, data_dir, FakeClock())
        await bot.start()
        try:
            for step in steps:
                fake.push_update(update_for(fake, chats, step))
                await bot.settle()
                after.append([tally(fake, chat) for chat in chats])
        finally:
            await bot.stop()
        assert fake.violations == [], fake.violations
        return Reference(after, [masked(transcript(fake, chat)) for chat in chats])
