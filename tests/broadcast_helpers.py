"""Shared setup for broadcast tests: a village of users, a recording raw sender, waiting."""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable

from bot.app import BotApp
from bot.core.types import Reply
from bot.services.broadcast import CANCELLED, DONE
from bot.services.users import FARMER, TEAM, User
from tests.helpers.driver import Chat
from tests.helpers.waiting import wait_until

Hook = Callable[[str, int], Awaitable[None]]


class Recorder:
    """A raw sender for the "web" channel: records deliveries, raises scripted errors."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, Reply]] = []
        self.calls = 0
        self.errors: dict[str, list[Exception]] = defaultdict(list)  # chat id -> next errors
        self.always: dict[str, Exception] = {}
        self.hook: Hook | None = None  # runs before each send with (chat id, call number)

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        self.calls += 1
        if self.hook is not None:
            await self.hook(chat_id, self.calls)
        if chat_id in self.always:
            raise self.always[chat_id]
        if self.errors[chat_id]:
            raise self.errors[chat_id].pop(0)
        self.delivered.append((chat_id, reply))

    async def close(self) -> None:
        return None

    def count(self, chat_id: str) -> int:
        """How many broadcast messages reached this chat."""
        return sum(1 for c, _r in self.delivered if c == chat_id)


class Inbox:
    """The notifier's "web" sender: what the bot told each user outside their own turn."""

    def __init__(self) -> None:
        self.got: dict[str, list[Reply]] = defaultdict(list)

    async def __call__(self, chat_id: str, replies: list[Reply]) -> None:
        self.got[chat_id].extend(replies)

    def text(self, chat_id: str) -> str:
        return "\n".join(r.text for r in self.got[chat_id])


def wire(app: BotApp) -> tuple[Recorder, Inbox]:
    """Register the fakes and make the outbox fast for tests."""
    recorder, inbox = Recorder(), Inbox()
    outbox = app.services.outbox
    outbox.register("web", recorder)
    app.services.notifier.register("web", inbox)
    outbox.pacer.rate = 2000.0
    outbox.backoff = 0.01
    outbox.progress_every = 0.01
    outbox.pacer.per_chat_seconds = 0.01
    return recorder, inbox


def seed(app: BotApp, count: int, area: str = "chi-lang", first: int = 100) -> list[User]:
    """Registered farmers who agreed to notices, made straight in the store."""
    users = app.services.users
    now = app.services.clock.now().isoformat()
    made = []
    for i in range(first, first + count):
        user = users.create(f"web:s{i}", f"Nông dân {i}", now)
        user.registered, user.area, user.role, user.consent = True, area, FARMER, True
        user.crops = ["na-chi-lang"]
        users.save(user)
        made.append(user)
    return made


async def team_member(app: BotApp, areas: list[str], key: str = "web:team") -> Chat:
    """A registered buyer made a team member of `areas`."""
    chat = Chat(app, key, "Tổ viên Mai")
    await chat.onboard(role="buyer", phone="0912000009")
    user = app.services.users.by_key(key)
    assert user is not None
    user.roles, user.team_areas = [TEAM], areas
    app.services.users.save(user)
    return chat


async def compose(chat: Chat, text: str = "Mai có tập huấn livestream ở nhà văn hoá") -> int:
    """Write a notice to the author's only area and send it now; return its id."""
    await chat.say("/thongbao")
    await chat.say(text)
    await chat.tap("nophoto")
    await chat.tap("aud:go")
    await chat.tap("pv:send")
    found = re.search(r"#(\d+)", chat.text())
    assert found, chat.text()
    return int(found.group(1))


async def until(check: Callable[[], bool], what: str = "", timeout: float = 10.0) -> None:
    """Wait (yielding) until `check()` holds; a time-out names what was awaited."""
    await wait_until(check, what or _source(check), timeout)


def _source(check: Callable[[], bool]) -> str:
    """The condition's own code, to say what a failed wait was waiting for."""
    try:
        return inspect.getsource(check).strip()
    except (OSError, TypeError):
        return repr(check)


async def finished(app: BotApp, broadcast_id: int) -> None:
    """Wait until a broadcast is done or stopped and its in-flight sends settled."""

    def over() -> bool:
        found = app.services.broadcasts.get(broadcast_id)
        return found is not None and found.status in (DONE, CANCELLED)

    await until(over, f"broadcast {broadcast_id} to be done or stopped")
    outbox = app.services.outbox
    await until(
        lambda: outbox.sending == 0 and not outbox.reporting,
        "the outbox's sends in flight and its progress message to settle",
    )
