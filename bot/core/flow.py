"""How a conversation flow is written: named states, each asking one question and judging the answer.

A flow module in handlers/ builds a `Flow` whose states map a name to `State(ask, answer, to)`.
`ask(ctx)` returns the question; `answer(ctx, msg)` returns an `Outcome` telling the engine
what happens next, and `to` declares where that may lead (checked when the bot starts, and
an undeclared move is refused at run time). Flows never see a channel's own types, and never
send directly: what they return is what the user sees.

`ask` must be pure: it reads the context and returns the question, changing nothing. The
engine calls it again whenever it needs to know which buttons the current question shows
(a stale button check, a repeat after help), so a change made there would happen twice or
at the wrong time. Changes belong in `answer`, in an action, or in the step before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz

from bot.core.model import User
from bot.core.ports import StepServices
from bot.core.types import Button, Incoming, Reply
from bot.text import fold


@dataclass
class Ctx:
    """Everything a state sees while handling one update for one user."""

    user: User
    data: dict[str, Any]  # the active flow's answers so far; saved after every step
    services: StepServices  # the repositories a step uses; never the store itself
    msg: Incoming
    now: datetime
    form_id: str  # unique per flow run: makes "confirm" idempotent across redeliveries

    @property
    def is_admin(self) -> bool:
        """Whether this user has admin rights."""
        return self.services.users.is_admin(self.user)


@dataclass
class Ask:
    """Go to `state` (or stay) and ask its question, after saying `say`.

    `redraw`: a tapped button only changed this screen (a toggle, a page arrow), so a channel
    that can edit messages updates the one the button was on; `toast` is a short notice then.
    """

    state: str
    say: list[Reply] = field(default_factory=list)
    toast: str = ""
    redraw: bool = False


@dataclass
class Retry:
    """The answer did not fit: say `correction`, then ask the same question again."""

    correction: str


@dataclass
class Done:
    """The flow is over: say `say`, then show the main menu unless `show_menu` is False."""

    say: list[Reply] = field(default_factory=list)
    show_menu: bool = True


@dataclass
class Start:
    """Leave this flow and start `flow` (at `state`, default its first) with `data`."""

    flow: str
    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    say: list[Reply] = field(default_factory=list)


@dataclass
class Stay:
    """Say `say` and keep waiting for an answer to the current question, without repeating it."""

    say: list[Reply] = field(default_factory=list)


Outcome = Ask | Retry | Done | Start | Stay
AskFn = Callable[[Ctx], list[Reply]]
AnswerFn = Callable[[Ctx, Incoming], Awaitable[Outcome]]
ActionFn = Callable[[Ctx, Incoming, list[str]], Awaitable[Outcome]]
LinkFn = Callable[[Ctx, str], Awaitable[Outcome]]


@dataclass(frozen=True)
class State:
    """One question of a flow, and the states its answer may lead to.

    `to` names states of the same flow ("phone") or of another flow ("profile/view", or
    "profile/" for where that flow starts); going back to the main menu (`Done`) and asking
    the same question again need no declaration. `enter` runs once when a person arrives
    here from elsewhere, not when the question is asked again: it makes the changes arriving
    means (which `ask` may not) and returns what to say before the question. `photo` marks a
    question a photo answers (uploads wait for it).
    """

    ask: AskFn
    answer: AnswerFn
    to: tuple[str, ...] = ()
    enter: Callable[[Ctx], list[Reply]] | None = None
    photo: bool = False


@dataclass(frozen=True)
class MenuEntry:
    """A line of the main menu that starts a flow; `visible` decides who sees it."""

    key: str
    label: str  # an N_() msgid, translated when shown
    order: int
    visible: Callable[[Ctx], bool] = lambda ctx: True
    words: tuple[str, ...] = ()  # extra words that pick it, e.g. "don hang"


@dataclass
class Flow:
    """A conversation flow: its states and how it is entered.

    `commands` maps a slash command (without "/") to the state it starts at.
    `actions` maps a button payload prefix (e.g. "ord") to a handler run whatever flow the
    user is in — for buttons under notifications; the payload's ":"-separated rest is passed.
    `free_text` (at most one flow) answers text typed at the main menu that is no menu choice.
    `leads_to` declares where its actions and free-text answer may lead ("flow/state").
    `aliases` are former ids of the flow: conversations stored and menu buttons sent under an
    old id keep working after a rename.
    `link` (at most one flow) opens a shared listing by its slug (a start payload or a typed
    code), for anyone; `guests` lets users who have not registered stay in the flow.
    """

    name: str
    first: str
    states: dict[str, State]
    commands: dict[str, str] = field(default_factory=dict)
    menu: MenuEntry | None = None
    actions: dict[str, ActionFn] = field(default_factory=dict)
    free_text: AnswerFn | None = None
    leads_to: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    link: LinkFn | None = None
    guests: bool = False


@dataclass(frozen=True)
class Choice:
    """One option of a question: `key` is the stable button payload."""

    key: str
    label: str
    words: tuple[str, ...] = ()


def choice_buttons(choices: list[Choice], columns: int = 1) -> list[list[Button]]:
    """Buttons for choices, numbered so the number can be typed instead."""
    buttons = [Button(f"{i}. {c.label}", c.key) for i, c in enumerate(choices, 1)]
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


def ask_choice(text: str, choices: list[Choice], columns: int = 1) -> list[Reply]:
    """A question answered by picking one of `choices`."""
    return [Reply(text, buttons=choice_buttons(choices, columns))]


def match_choice(msg: Incoming, choices: list[Choice]) -> Choice | None:
    """The choice a user meant: by button, by its number, or by its words typed any way."""
    if msg.kind == "button":
        return next((c for c in choices if c.key == msg.payload), None)
    if msg.kind != "text":
        return None
    typed = fold(msg.text)
    if not typed:
        return None
    if typed.isdigit():
        index = int(typed) - 1
        return choices[index] if 0 <= index < len(choices) else None
    for choice in choices:
        names = [fold(choice.label), *(fold(w) for w in choice.words)]
        if typed in names:
            return choice
    best: tuple[float, Choice | None] = (0.0, None)
    runner_up = 0.0
    for choice in choices:
        names = [fold(choice.label), *(fold(w) for w in choice.words)]
        score = max(fuzz.ratio(typed, n) for n in names)
        score = max([score, *(fuzz.token_set_ratio(typed, n) for n in names if len(typed) >= 3)])
        if score > best[0]:
            best, runner_up = (score, choice), best[0]
        elif score > runner_up:
            runner_up = score
    if best[0] >= 85 and best[0] - runner_up >= 5:
        return best[1]
    return None


def is_text(msg: Incoming) -> bool:
    """Whether the user typed text (not a sticker, photo, button...)."""
    return msg.kind == "text" and bool(msg.text.strip())
