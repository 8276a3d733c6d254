"""A chat with the bot in the terminal: same flows, same store, menus as numbered lines."""

from __future__ import annotations

import asyncio
import sys

from bot.channels.plain import PlainSession, incoming_text
from bot.core.engine import Engine
from bot.core.types import Reply
from bot.services.container import Services

USER_KEY = "terminal:local"


async def run_terminal(engine: Engine[Services], name: str = "") -> None:
    """Read lines from stdin and print the bot's replies until EOF or Ctrl-C."""
    session = PlainSession()

    async def show(_chat_id: str, replies: list[Reply]) -> None:
        for text in session.render(replies):
            print(f"\n🤖 {text}", flush=True)

    engine.services.notifier.register("terminal", show)
    loop = asyncio.get_running_loop()
    await show(
        "local",
        await engine.handle(incoming_text("terminal", USER_KEY, "/start", display_name=name)),
    )
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        text = line.rstrip("\n")
        if not text.strip():
            continue
        msg = session.press(incoming_text("terminal", USER_KEY, text, display_name=name))
        await show("local", await engine.handle(msg))
