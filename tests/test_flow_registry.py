"""Flows are checked when the bot starts; a move a state did not declare is refused."""

from __future__ import annotations

import logging

import pytest

from bot.app import BotApp
from bot.core.engine import Engine
from bot.core.flow import Ask, Ctx, Done, Flow, Outcome, Retry, Start, State
from bot.core.model import Conversation
from bot.core.registry import FlowError, Registry
from bot.core.types import Incoming, Reply
from handlers import ID_NOT_MODULE, build_flows
from tests.helpers.msgids import said


def _ask(ctx: Ctx) -> list[Reply]:
    return [Reply(f"question {ctx.data.get('n', 0)}")]


def _goes(outcome: Outcome) -> State:
    async def answer(ctx: Ctx, msg: Incoming) -> Outcome:
        return outcome

    return State(_ask, answer)


def _flow(name: str = "demo", **extra: object) -> Flow:
    states = {"one": State(_ask, _goes(Ask("two")).answer, to=("two",)), "two": _goes(Done())}
    fields: dict[str, object] = {"first": "one", "states": states, **extra}
    return Flow(name=name, **fields)  # type: ignore[arg-type]


def _menu() -> Flow:
    return Flow(name="menu", first="main", states={"main": _goes(Retry("?"))})


def problems(*flows: Flow) -> str:
    with pytest.raises(FlowError) as raised:
        Registry([_menu(), *flows])
    return str(raised.value)


def test_the_bots_own_flows_fit_together() -> None:
    Registry(build_flows(), required=("menu", "onboarding"))


def test_flow_ids_match_their_modules_or_say_why() -> None:
    for flow in build_flows():
        module = flow.states[flow.first].ask.__module__.rsplit(".", 1)[-1]
        assert flow.name in (module, *ID_NOT_MODULE.get(module, ())), (flow.name, module)


def test_a_declared_state_that_does_not_exist_is_refused() -> None:
    flow = _flow()
    flow.states["two"] = State(_ask, _goes(Done()).answer, to=("three",))
    assert 'demo/two may go to "three", which does not exist' in problems(flow)


def test_a_declared_flow_or_its_state_that_does_not_exist_is_refused() -> None:
    flow = _flow(leads_to=("nowhere/", "menu/nothing"))
    found = problems(flow)
    assert 'demo (actions) may go to "nowhere/"' in found
    assert 'demo (actions) may go to "menu/nothing"' in found


def test_a_duplicate_command_is_refused_not_silently_replaced() -> None:
    found = problems(_flow("a", commands={"ban": "one"}), _flow("b", commands={"ban": "one"}))
    assert 'command /ban of "b" is already "a"\'s' in found


def test_a_duplicate_button_prefix_is_refused() -> None:
    async def act(ctx: Ctx, msg: Incoming, rest: list[str]) -> Outcome:
        return Done()

    found = problems(_flow("a", actions={"ord": act}), _flow("b", actions={"ord": act}))
    assert 'button prefix "ord:" of "b" is already "a"\'s' in found


def test_duplicate_ids_aliases_and_free_text_are_refused() -> None:
    async def free(ctx: Ctx, msg: Incoming) -> Outcome:
        return Done()

    found = problems(
        _flow("a", free_text=free), _flow("b", aliases=("a",), free_text=free), _flow("b")
    )
    assert 'two flows are called "a"' in found and 'two flows are called "b"' in found
    assert '"b" and "a" both answer free text' in found


def test_a_missing_first_state_command_state_or_menu_is_refused() -> None:
    found = problems(_flow(first="zero", commands={"x": "nine"}))
    assert '"demo" starts at a state it does not have: "zero"' in found
    assert '/x starts "demo" at a missing state "nine"' in found
    with pytest.raises(FlowError, match='no "menu" flow'):
        Registry([_flow()])


def _engine(app: BotApp, *flows: Flow) -> Engine:  # type: ignore[type-arg]
    onboarding = Flow(name="onboarding", first="x", states={"x": _goes(Done())})
    return Engine(app.services.engine_ports(), app.services, [_menu(), onboarding, *flows])


async def _registered(app: BotApp, key: str) -> int:
    user = app.services.users.create(key, "Lan", app.services.clock.now().isoformat())
    user.registered = True
    app.services.users.save(user)
    return user.id


@pytest.mark.allow_undeclared
async def test_an_undeclared_move_is_refused_at_run_time_and_logged_once(
    app: BotApp, caplog: pytest.LogCaptureFixture
) -> None:
    sneaky = _flow("demo", commands={"demo": "one"})
    sneaky.states["one"] = State(_ask, _goes(Start("other", "one")).answer, to=("two",))
    other = _flow("other")
    engine = _engine(app, sneaky, other)
    user_id = await _registered(app, "web:lan")
    await engine.handle(Incoming("web", "web:lan", "command", command="demo"))
    for _ in range(2):
        with caplog.at_level(logging.ERROR, "bot.core.engine"):
            replies = await engine.handle(Incoming("web", "web:lan", "button", payload="go"))
        assert said(
            replies[0].text,
            "Sorry, something went wrong on our side. Please try again, or type /menu.",
        )
    conv = app.services.conversations.get(user_id)
    assert (conv.flow, conv.state) == ("demo", "one")  # nobody moved
    refusals = [r for r in caplog.records if "undeclared move" in r.getMessage()]
    assert len(refusals) == 1 and "other/one" in refusals[0].getMessage()


async def test_a_stored_state_removed_by_a_deploy_leads_to_the_menu_with_a_word(
    app: BotApp, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine(app, _flow())
    for key in ("web:lan", "web:hoa"):
        user_id = await _registered(app, key)
        app.services.conversations.save(Conversation(user_id, "demo", "gone", {}, 0, "f1"))
        with caplog.at_level(logging.WARNING, "bot.core.engine"):
            replies = await engine.handle(Incoming("web", key, "text", text="xin chao"))
        text = "\n".join(r.text for r in replies)
        assert said(text, "Sorry, the step you were at no longer exists. Here is the main menu.")
        assert app.services.conversations.get(user_id).flow == ""
    lost = [r for r in caplog.records if "unknown flow/state demo/gone" in r.getMessage()]
    assert len(lost) == 1  # logged once, however many people stood there


async def test_former_ids_keep_stored_conversations_and_sent_menu_buttons_working(
    app: BotApp,
) -> None:
    pressed: list[str] = []

    async def two(ctx: Ctx, msg: Incoming) -> Outcome:
        pressed.append(msg.payload or msg.text)
        return Done()

    renamed = Flow(
        name="demo",
        first="one",
        states={"one": _goes(Retry("?")), "two": State(_ask, two)},
        aliases=("old_demo",),
    )
    engine = _engine(app, renamed)
    user_id = await _registered(app, "web:lan")
    # Stored by the version before the rename, at its second question.
    app.services.conversations.save(Conversation(user_id, "old_demo", "two", {"n": 2}, 0, "f1"))
    replies = await engine.handle(Incoming("web", "web:lan", "text", text="/help"))
    assert replies[-1].text == "question 2"  # the question the person is at, not the menu
    await engine.handle(Incoming("web", "web:lan", "button", payload="old_demo"))
    assert pressed == ["demo"]  # a menu button sent under the former id reads as the new one


async def test_enter_runs_on_arrival_only_never_when_the_question_is_asked_again(
    app: BotApp,
) -> None:
    arrivals: list[str] = []

    def enter(ctx: Ctx) -> list[Reply]:
        arrivals.append(ctx.msg.text or ctx.msg.command)
        return [Reply("welcome")]

    async def answer(ctx: Ctx, msg: Incoming) -> Outcome:
        return {"again": Ask("one"), "wrong": Retry("no")}.get(msg.text, Ask("two"))

    flow = Flow(
        name="demo",
        first="one",
        states={"one": State(_ask, answer, to=("two",), enter=enter), "two": _goes(Done())},
        commands={"demo": "one"},
    )
    engine = _engine(app, flow)
    await _registered(app, "web:lan")
    first = await engine.handle(Incoming("web", "web:lan", "command", command="demo"))
    assert [r.text for r in first] == ["welcome", "question 0"]
    for text in ("again", "wrong"):
        replies = await engine.handle(Incoming("web", "web:lan", "text", text=text))
        assert "welcome" not in [r.text for r in replies]
    await engine.handle(Incoming("web", "web:lan", "text", text="/help"))
    assert arrivals == ["demo"]
