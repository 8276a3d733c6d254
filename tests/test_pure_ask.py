"""`ask` changes nothing: the engine asks again whenever it needs to see the current question."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.app import BotApp
from bot.core.flow import Ctx
from bot.core.types import Incoming, Reply
from bot.services.users import ADMIN, TEAM
from tests.helpers.driver import Chat
from tests.listings_helpers import farmer


def _shown(replies: list[Reply]) -> list[tuple[Any, ...]]:
    return [(r.text, r.buttons, r.photos, r.document) for r in replies]


async def _people(app: BotApp) -> list[Chat]:
    """A farmer with a listing and an order, a buyer, and an admin in a team."""
    seller = await farmer(app)
    await seller.tap("listings")
    for step in ("na chi lang", "loai 1", "200 kg", "45k"):
        await seller.say(step)
    for tap in ("lf:now", "lf:done", "lf:c:none", "lf:skip", "lf:ok"):
        await seller.tap(tap)
    buyer = Chat(app, "web:buyer", "Hoa")
    await buyer.onboard(role="buyer", phone="0987654321")
    admin = Chat(app, "web:admin", "Minh")
    await admin.onboard(phone="0911222333")
    user = app.services.users.by_key("web:admin")
    assert user is not None
    user.roles, user.team_areas = [ADMIN, TEAM], ["chi-lang"]
    app.services.users.save(user)
    return [seller, buyer, admin]


async def test_every_question_asked_twice_changes_nothing_stored(app: BotApp) -> None:
    people = await _people(app)
    commits = 0
    engine = app.store.engine
    commit = engine.commit

    def counting(payload: bytes) -> None:
        nonlocal commits
        commits += 1
        commit(payload)

    engine.commit = counting  # type: ignore[method-assign]
    asked = skipped = 0
    for chat in people:
        user = app.services.users.by_key(chat.user_key)
        assert user is not None
        for flow in app.engine.flows.values():
            for name, state in flow.states.items():
                data: dict[str, Any] = {}
                msg = Incoming("web", chat.user_key, "text", text="1")
                ctx = Ctx(user, data, app.services, msg, app.services.clock.now(), "form1")
                before, person = commits, replace(user, roles=list(user.roles))
                try:
                    first = state.ask(ctx)
                except (KeyError, TypeError, ValueError):
                    skipped += 1  # this question needs answers the flow collects first
                    continue
                second = state.ask(ctx)
                assert commits == before, f"{flow.name}/{name} wrote to the store when asked"
                assert _shown(first) == _shown(second), (
                    f"{flow.name}/{name} differs when asked again"
                )
                assert data == {}, f"{flow.name}/{name} changed the form's answers when asked"
                assert user == person, f"{flow.name}/{name} changed the person when asked"
                asked += 1
    assert asked > 100 and skipped < asked / 4, (asked, skipped)
