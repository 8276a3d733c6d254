"""The flows of the bot, checked once at start-up: ids, commands, button prefixes, transitions.

A mistake in how flows fit together (a target state that does not exist, two flows claiming
the same command or button prefix) stops the bot from starting, with every problem listed,
instead of surfacing as a silent override or a dead end in front of a farmer.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.flow import ActionFn, AnswerFn, Ask, Flow, Outcome, Start

MENU_FLOW = "menu"


class FlowError(Exception):
    """The flows do not fit together; the message lists every problem found."""


class Registry:
    """Flows by id and former id, with their commands, button prefixes and declared moves."""

    def __init__(self, flows: Iterable[Flow], required: Iterable[str] = (MENU_FLOW,)) -> None:
        self.flows: dict[str, Flow] = {}
        self.aliases: dict[str, str] = {}
        self.commands: dict[str, tuple[Flow, str]] = {}
        self.actions: dict[str, tuple[Flow, ActionFn]] = {}
        self.free_text: tuple[Flow, AnswerFn] | None = None
        problems: list[str] = []
        listed = list(flows)
        for flow in listed:
            self._add(flow, problems)
        for flow in listed:
            self._check(flow, problems)
        problems.extend(f'no "{name}" flow' for name in required if name not in self.flows)
        if problems:
            raise FlowError("the flows do not fit together:\n- " + "\n- ".join(problems))

    def flow(self, name: str) -> Flow | None:
        """The flow with this id or former id."""
        return self.flows.get(self.aliases.get(name, name))

    def target(self, origin: Flow, name: str) -> tuple[str, str] | None:
        """(flow id, state) a declared target names, if that state exists."""
        flow_name, slash, state = name.rpartition("/")
        flow = self.flow(flow_name) if slash else origin
        if flow is None:
            return None
        state = state or flow.first  # "profile/": wherever that flow starts
        return (flow.name, state) if state in flow.states else None

    def allows(self, origin: Flow, declared: Iterable[str], here: str, outcome: Outcome) -> bool:
        """Whether `outcome`, returned at state `here` of `origin`, goes somewhere declared."""
        if isinstance(outcome, Ask):
            goal = (origin.name, outcome.state)
            if outcome.state == here:
                return True  # asking the same question again
        elif isinstance(outcome, Start):
            flow = self.flow(outcome.flow)
            if flow is None:
                return False
            goal = (flow.name, outcome.state or flow.first)
        else:
            return True  # back to the menu, a correction, or a word without moving
        return goal in {self.target(origin, name) for name in declared}

    def _add(self, flow: Flow, problems: list[str]) -> None:
        for name in (flow.name, *flow.aliases):
            if name in self.flows or name in self.aliases:
                problems.append(f'two flows are called "{name}"')
        self.flows.setdefault(flow.name, flow)
        for alias in flow.aliases:
            self.aliases.setdefault(alias, flow.name)
        for command, state in flow.commands.items():
            if command in self.commands:
                other = self.commands[command][0].name
                problems.append(f'command /{command} of "{flow.name}" is already "{other}"\'s')
            else:
                self.commands[command] = (flow, state)
        for prefix, action in flow.actions.items():
            if prefix in self.actions:
                other = self.actions[prefix][0].name
                problems.append(
                    f'button prefix "{prefix}:" of "{flow.name}" is already "{other}"\'s'
                )
            else:
                self.actions[prefix] = (flow, action)
        if flow.free_text is not None:
            if self.free_text is not None:
                problems.append(
                    f'"{flow.name}" and "{self.free_text[0].name}" both answer free text'
                )
            else:
                self.free_text = (flow, flow.free_text)

    def _check(self, flow: Flow, problems: list[str]) -> None:
        if flow.first not in flow.states:
            problems.append(f'"{flow.name}" starts at a state it does not have: "{flow.first}"')
        for command, state in flow.commands.items():
            if state not in flow.states:
                problems.append(f'/{command} starts "{flow.name}" at a missing state "{state}"')
        declared = [(f"{flow.name}/{name}", to) for name, s in flow.states.items() for to in s.to]
        declared.extend((f"{flow.name} (actions)", to) for to in flow.leads_to)
        for origin, target in declared:
            if self.target(flow, target) is None:
                problems.append(f'{origin} may go to "{target}", which does not exist')
