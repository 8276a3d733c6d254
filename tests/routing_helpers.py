"""Scoring the router on tests/data/routing.csv (shared by tests/test_router.py and bench)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import BotApp
from bot.core.flow import Ctx
from bot.core.model import Conversation
from bot.core.router import CHAT, FAQ, MENU, STEP, Decision, Step, decide
from bot.core.routing import ServicesKnowledge
from bot.core.types import Incoming

ROUTING_CSV = Path(__file__).resolve().parent / "data" / "routing.csv"
# What each form's answers are, so its questions can be asked as they would be mid-form.
STEP_DATA: dict[str, dict[str, Any]] = {
    "listings": {
        "product_id": "na-chi-lang",
        "product_name": "Na Chi Lăng",
        "quantity": "200",
        "unit": "kg",
        "pick": "na-chi-lang",
        "typed": "na",
    },
    "orders": {"order": 0},
    "order_out": {"listing": 0},
    "buy": {},
}
SKIP_KEYS = (":skip", ":none")


@dataclass
class Row:
    """One labelled text."""

    text: str
    state: str
    route: str
    slots: dict[str, str]
    split: str


@dataclass
class Score:
    """How the router did on some rows."""

    rows: int = 0
    right: int = 0
    questions_in_forms: int = 0  # questions typed mid-form
    swallowed: int = 0  # of those, sent into the form as an answer
    requests: int = 0
    slots_right: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of rows routed as labelled."""
        return self.right / self.rows if self.rows else 0.0

    @property
    def swallow_rate(self) -> float:
        """Share of mid-form questions taken as the form's answer."""
        return self.swallowed / self.questions_in_forms if self.questions_in_forms else 0.0

    @property
    def slot_accuracy(self) -> float:
        """Share of one-sentence requests with every detail read right."""
        return self.slots_right / self.requests if self.requests else 0.0


def load_rows(split: str | None = None) -> list[Row]:
    """The labelled rows (of one split)."""
    with ROUTING_CSV.open(encoding="utf-8") as f:
        rows = [
            Row(
                r["text"],
                r["state"],
                r["expected_route"],
                dict(p.split("=", 1) for p in r["expected_slots"].split(";") if p),
                r["split"],
            )
            for r in csv.DictReader(f)
        ]
    return [r for r in rows if split is None or r.split == split]


class Steps:
    """The router's view of each labelled state, built from the real flows for one user."""

    def __init__(self, app: BotApp, user_key: str) -> None:
        self.app = app
        user = app.services.users.by_key(user_key)
        assert user is not None
        self.user = user
        self._cache: dict[str, Step] = {}
        self.know = ServicesKnowledge(app.services)

    def ctx(self, flow: str) -> Ctx:
        """A context as a step of `flow` would see it."""
        msg = Incoming(channel="web", user_key="web:x", kind="text", text="")
        now = self.app.services.clock.now()
        data = dict(STEP_DATA.get(flow, {}))
        return Ctx(self.user, data, self.app.services, msg, now, "eval")

    def step(self, state: str) -> Step:
        """The Step for "menu" or "flow/state", built as the engine builds it; "menu+held" is
        the main menu while a listing form waits at its quantity (its resume line first)."""
        if state not in self._cache:
            flows = self.app.engine.flows
            flow_name, _slash, state_name = state.partition("/")
            flow_name, plus, _held = flow_name.partition("+")
            held = Conversation(self.user.id, "listings", "quantity", {"product_id": "na"})
            suspended = self.app.services.suspended
            if plus:
                suspended.put(held, self.app.services.clock.now())
            flow = flows[flow_name]
            name = state_name or flow.first
            ctx = self.ctx(flow_name)
            self._cache[state] = self.app.engine.router.step(ctx, flow, name, flow.states[name])
            if plus:
                suspended.drop(self.user.id)
        return self._cache[state]

    def decide(self, row: Row) -> Decision:
        """The router's decision on a row."""
        return decide(row.text, self.step(row.state), self.know)


def target_of(app: BotApp, decision: Decision) -> str:
    """A menu decision's target as flow/state (a menu line opens its flow's first state)."""
    target = decision.target
    if "/" in target or target not in app.engine.flows:
        return target
    return f"{target}/{app.engine.flows[target].first}"


def agrees(app: BotApp, row: Row, decision: Decision) -> tuple[bool, bool]:
    """(route right, details right) for one row."""
    if decision.route != row.route:
        return False, False
    if row.route == MENU:
        ok = target_of(app, decision) == row.slots.get("target")
        return ok, ok
    if row.route == "request":
        got = decision.request.as_slots() if decision.request else {}
        return True, got == row.slots
    if row.route == STEP and row.slots.get("skip"):
        skipped = decision.slots.get("skip") == "1" or decision.choice.endswith(SKIP_KEYS)
        return skipped, skipped
    if row.route == STEP and row.slots.get("correct"):
        ok = decision.slots == row.slots
        return ok, ok
    return True, True


def score(app: BotApp, steps: Steps, rows: list[Row]) -> Score:
    """Route, swallow and slot figures over rows."""
    result = Score()
    for row in rows:
        decision = steps.decide(row)
        route_ok, slots_ok = agrees(app, row, decision)
        result.rows += 1
        result.right += route_ok
        if row.route == FAQ and row.state != "menu" and steps.step(row.state).kind != "free":
            result.questions_in_forms += 1
            result.swallowed += decision.route == STEP
        if row.route == "request":
            result.requests += 1
            result.slots_right += slots_ok
        if not route_ok:
            got = decision.route + (f" {target_of(app, decision)}" if decision.target else "")
            result.wrong.append(
                f"{row.state:24} {row.text!r}: want {row.route} {row.slots or ''}, got {got} "
                f"{decision.slots or ''} {decision.scores}"
            )
    return result


__all__ = ["CHAT", "Row", "Score", "Steps", "load_rows", "score"]
