"""Helpers for the web chat notice tests: a browser session, its person, a held long poll."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from yarl import URL

from bot.core.types import Reply
from bot.server import WEB_CHAT_KEY
from bot.services.users import User
from tests.console_helpers import Server, person
from tests.helpers.waiting import wait_until


async def browser_session(http: aiohttp.ClientSession, server: Server) -> str:
    """Open the chat page; the session id the server put in the browser's cookie."""
    async with http.get(f"{server.base}/") as page:
        assert page.status == 200
    cookie = http.cookie_jar.filter_cookies(URL(server.base))["nds_chat"].value
    return cookie.partition(".")[0]


def web_person(server: Server, session: str) -> User:
    """A registered person whose web chat is this browser session."""
    return person(server.app, f"web:{session}", "Lan")


async def notify(server: Server, user: User, text: str) -> None:
    """Send the person a notice from this server's process."""
    assert await server.app.services.notifier.notify(user, lambda: [Reply(text)])


async def held_poll(
    http: aiohttp.ClientSession, server: Server, session: str
) -> asyncio.Task[list[dict[str, Any]]]:
    """A long poll on this server, started and waiting; its task gives the replies."""

    async def poll() -> list[dict[str, Any]]:
        async with http.get(f"{server.base}/chat/api/poll") as response:
            assert response.status == 200
            replies: list[dict[str, Any]] = (await response.json())["replies"]
            return replies

    task = asyncio.create_task(poll())
    assert server.web is not None
    pending = server.web[WEB_CHAT_KEY].pending
    await wait_until(lambda: session in pending._waiters, "the long poll to wait")
    return task
