"""What the engine does with the router's decision: digressions, menu actions mid-form,
one-sentence requests, forms put aside and resumed.

Rasa's forms are the model: a side question is answered, then the form asks its own question
again with everything entered so far kept. Opening a menu entry mid-form puts the form aside
(kept seven days); the main menu then offers to continue it first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.core.flow import (
    AnswerFn,
    Ask,
    Choice,
    Ctx,
    Done,
    Flow,
    Outcome,
    Retry,
    Start,
    State,
    Stay,
)
from bot.core.model import Conversation
from bot.core.ports import StepServices
from bot.core.router import (
    CANCEL,
    CHAT,
    MENU,
    REQUEST,
    STEP,
    TEXT,
    Decision,
    Step,
    decide,
    step_kind,
    wants_digits,
)
from bot.core.slots import CORRECT, Request
from bot.core.types import Incoming, Reply
from bot.i18n import _
from bot.text import fold

log = logging.getLogger(__name__)

RESUME = "sys:resume"
RESUME_WORDS = frozenset({"tiep tuc", "lam tiep", "quay lai form", "tiep", "continue"})


def resume_words(label: str) -> tuple[str, ...]:
    """What the "▶️ Continue: Sell a product (step 3/8)" line answers to, typed any way:
    the resume words alone, with the form's name after them, and the line without its step."""
    head, _colon, form = label.split("(", 1)[0].partition(":")

    def plain(text: str) -> str:
        return " ".join(w for w in fold(text).split() if any(c.isalnum() for c in w))

    words = set(RESUME_WORDS) | {plain(f"{head} {form}")}
    if plain(form):
        words |= {f"{w} {plain(form)}" for w in RESUME_WORDS} | {f"{plain(form)} tiep"}
    return tuple(sorted(w for w in words if w))


# Flows whose half-filled answers are worth keeping when the user goes elsewhere.
SUSPENDABLE = frozenset({"listings", "order_out", "buy", "orders"})
NOT_ASKED = frozenset({"broadcast"})
# The numbered questions of a form, for "bước 3/8" (other forms show no step number).
FORM_STEPS = {
    "listings": (
        "product",
        "grade",
        "quantity",
        "price",
        "availability",
        "photos",
        "certs",
        "description",
    ),
}
# Where a menu command opens, and with what (an edit of one profile field).
_START_DATA = {"onboarding": {"edit": True}}
RequestOpener = Callable[[Ctx, Request], Awaitable[Outcome]]


@dataclass
class Routed:
    """The engine's next move: apply `outcome`, or let the step answer `msg`."""

    outcome: Outcome | None
    msg: Incoming


class ServicesKnowledge:
    """The router's look-ups, over the running services."""

    def __init__(self, services: StepServices) -> None:
        self._services = services

    def faq_score(self, text: str) -> float:
        """The FAQ matcher's best score for a text."""
        best = self._services.faq.match(text).best
        return best.score if best is not None else 0.0

    def knows(self, word: str) -> bool:
        """Whether a folded syllable is a real word the FAQ uses."""
        return self._services.faq.matcher.knows(word)

    def product(self, text: str) -> tuple[str, str] | None:
        """A catalogue product named exactly (or, for two words or more, contained)."""
        products = self._services.products
        entry = products.exact(text)
        if entry is None and len(text.split()) >= 2:
            matches = products.match(text, limit=1)
            if matches and matches[0].score >= 88:
                entry = matches[0].entry
        return (entry.id, entry.name) if entry is not None else None


def choices_of(replies: list[Reply]) -> tuple[Choice, ...]:
    """The buttons a question shows, as choices (label without its "1. " number)."""
    found = []
    for reply in replies:
        for row in reply.buttons:
            for button in row:
                if button.url:
                    continue
                number, dot, rest = button.label.partition(". ")
                label = rest if dot and number.isdigit() else button.label
                found.append(Choice(button.payload, label))
    return tuple(found)


class Router:
    """Routes free text for the engine; `opener` starts one-sentence requests."""

    def __init__(
        self,
        services: StepServices,
        flows: dict[str, Flow],
        free_text: AnswerFn | None,
        opener: RequestOpener | None = None,
    ) -> None:
        self.services = services
        self.flows = flows
        self.free_text = free_text
        self.opener = opener
        self.know = ServicesKnowledge(services)

    def step(self, ctx: Ctx, flow: Flow, state_name: str, state: State) -> Step:
        """The pending question as the router sees it."""
        # Asked again only to see its buttons; a notice's "off"/"on" questions act when asked
        # and their flow takes any text as it is, so they are not asked here.
        choices = () if flow.name in NOT_ASKED else choices_of(state.ask(ctx))
        unit = None
        entry = self.services.products.get(str(ctx.data.get("product_id", "")))
        if entry is not None and entry.get("default_unit"):
            unit = str(entry.get("default_unit"))
        menu = flow.name == "menu"
        if menu:  # the menu's lines answer to their entry's words too ("tiến độ", "đơn hàng")
            words = {f.name: f.menu.words for f in self.flows.values() if f.menu is not None}
            choices = tuple(replace(c, words=words.get(c.key, c.words)) for c in choices)
            # The line that resumes a form put aside answers to its own words too.
            choices = tuple(
                replace(c, words=resume_words(c.label)) if c.key == RESUME else c for c in choices
            )
        kind = "menu" if menu else step_kind(flow.name, state_name, bool(choices))
        return Step("" if menu else flow.name, state_name, kind, choices, unit)

    async def route(
        self, ctx: Ctx, conv: Conversation, flow: Flow, state_name: str, state: State
    ) -> Routed:
        """Decide what a text (or a resume button) does before the step sees it."""
        msg = ctx.msg
        at_menu = flow.name == "menu"
        if at_menu and msg.payload == RESUME:
            return Routed(self.resume(ctx, conv), msg)
        if msg.kind != "text" or not msg.text.strip():
            return Routed(None, msg)
        if not ctx.user.registered and flow.name != "onboarding":
            return Routed(None, msg)
        step = self.step(ctx, flow, state_name, state)
        decision = decide(msg.text, step, self.know)
        log.debug(
            "route %s target=%s step=%s/%s kind=%s scores=%s slots=%s",
            decision.route,
            decision.target,
            flow.name,
            state_name,
            step.kind,
            decision.scores,
            sorted(decision.slots),  # names only: values may be what the user typed
        )
        if not ctx.user.registered and decision.route in (MENU, REQUEST):
            return Routed(None, msg)  # registering first: only side questions are taken
        if decision.route == STEP:
            return await self._step(ctx, decision, state_name, msg)
        if decision.route == CANCEL:
            return Routed(None, msg)  # the engine's cancel words already took these
        if decision.route == MENU:
            return Routed(await self._menu(ctx, conv, decision, at_menu, state), msg)
        if decision.route == REQUEST and decision.request is not None:
            return Routed(await self._request(ctx, conv, decision.request, at_menu), msg)
        own = step.kind != TEXT and not wants_digits(msg.text, step)
        if decision.route == CHAT and not at_menu and own:
            return Routed(None, msg)  # the step's own correction says what it wants
        if decision.route == CHAT and not at_menu:
            lead = Reply(_("Let us go on with this question:"))
            return Routed(Stay([lead, *state.ask(ctx)]), msg)
        return Routed(await self._question(ctx, at_menu, state, msg), msg)

    async def _step(self, ctx: Ctx, decision: Decision, state_name: str, msg: Incoming) -> Routed:
        """An answer for the pending step: as typed, or as the button the words stand for."""
        if decision.slots.get("correct"):
            return Routed(await self._correct(ctx, decision, state_name), msg)
        if decision.slots.get("fill") and decision.request is not None and self.opener:
            decision.request.action = state_name
            return Routed(await self.opener(ctx, decision.request), msg)
        if decision.choice:
            # A button's label or one of the lexicon's words typed: the same as a tap, so
            # "bỏ qua" works at every step that shows Bỏ qua, whatever its handler reads.
            pressed = replace(msg, kind="button", payload=decision.choice, text="")
            ctx.msg = pressed
            return Routed(None, pressed)
        if decision.slots.get("skip"):
            text = _(
                "This question needs an answer to go on. Please type it, or type “huy” to stop."
            )
            return Routed(Retry(text), msg)
        return Routed(None, msg)

    async def _correct(self, ctx: Ctx, decision: Decision, state_name: str) -> Outcome:
        """ "à nhầm, 3 tạ chứ": change the earlier answer, say so, ask the question again."""
        if self.opener is None:
            return Retry(_("Sorry, I did not understand."))
        request = Request(CORRECT, action=state_name, slots=dict(decision.slots))
        return await self.opener(ctx, request)

    async def _question(self, ctx: Ctx, at_menu: bool, state: State, msg: Incoming) -> Outcome:
        """A question (or small talk): the FAQ answers; mid-form the form asks again."""
        if self.free_text is None:
            return Retry(_("Sorry, I did not understand."))
        outcome = await self.free_text(ctx, msg)
        if at_menu:
            return outcome
        if isinstance(outcome, Done | Stay):
            said = outcome.say
        elif isinstance(outcome, Retry):
            said = [Reply(outcome.correction)]
        else:
            said = []
        back = Reply(_("Now, back to the form:"))
        return Stay([*said, back, *state.ask(ctx)])

    def _visible(self, ctx: Ctx, flow: str, state: str) -> bool:
        """Whether this user may open a flow's state (its menu line decides its first one)."""
        target = self.flows.get(flow)
        if target is None or state not in target.states:
            return False
        # "tắt thông báo" is every user's, though only the team sees the notice menu line.
        return target.menu is None or state != target.first or target.menu.visible(ctx)

    async def _menu(
        self, ctx: Ctx, conv: Conversation, decision: Decision, at_menu: bool, state: State
    ) -> Outcome | None:
        """Open a menu entry (a form in progress is put aside first)."""
        if decision.target == RESUME:
            return self.resume(ctx, conv)
        if at_menu and "/" not in decision.target:
            return None  # the menu's own choice: the menu step handles it
        flow, _slash, state_name = decision.target.partition("/")
        if not self._visible(ctx, flow, state_name):
            return await self._question(ctx, at_menu, state, ctx.msg)
        self.suspend(ctx, conv)
        return Start(flow, state_name, dict(_START_DATA.get(flow, {})))

    async def _request(
        self, ctx: Ctx, conv: Conversation, request: Request, at_menu: bool
    ) -> Outcome:
        """Open the flow a one-sentence request names, its details filled in."""
        if self.opener is None:
            return Retry(_("Sorry, I did not understand."))
        self.suspend(ctx, conv)
        return await self.opener(ctx, request)

    def suspend(self, ctx: Ctx, conv: Conversation) -> None:
        """Put the form in progress aside, if it is one worth coming back to."""
        if conv.flow in SUSPENDABLE and conv.data:
            self.services.suspended.put(conv, ctx.now)
            log.info("user %s put %s/%s aside", ctx.user.id, conv.flow, conv.state)

    def resume(self, ctx: Ctx, conv: Conversation) -> Outcome:
        """Bring back the form put aside, where it was."""
        held = self.services.suspended.get(ctx.user.id, ctx.now)
        self.services.suspended.drop(ctx.user.id)
        if held is None or held.flow not in self.flows:
            return Done([Reply(_("There is no form to continue."))])
        conv.flow, conv.state, conv.data = held.flow, held.state, dict(held.data)
        conv.form_id, conv.tries = held.form_id, 0
        ctx.data, ctx.form_id = conv.data, conv.form_id
        return Ask(held.state, [Reply(_("Welcome back. Here is where you were:"))])
