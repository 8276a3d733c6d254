"""The dialog engine: one update in, the replies out, with the user's place saved in between.

Updates of one user are handled one at a time (a lock per user); different users run
concurrently. Every change is on disk before the replies are returned to the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import Generic, TypeVar

from bot.address import address_of
from bot.core.flow import Ask, Ctx, Done, Flow, Outcome, Retry, Start, Stay
from bot.core.model import Conversation, User
from bot.core.ports import EnginePorts, StepServices
from bot.core.registry import MENU_FLOW, Registry
from bot.core.routing import RequestOpener, Router
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _, set_addressee, set_locale
from bot.slugs import from_start, from_typed
from bot.storage.errors import StoreConflict, StoreError
from bot.text import clean, fold

log = logging.getLogger(__name__)

# The services steps get; channels built on the engine see the concrete container type.
S = TypeVar("S", bound=StepServices)

ONBOARDING_FLOW = "onboarding"
MAX_TRIES = 3
CONFLICT_ATTEMPTS = 3  # an update redone on fresh data when another process wrote first
CANCEL_WORDS = frozenset({"huy", "thoat", "menu", "cancel", "exit", "quit", "huy bo"})
HELP_WORDS = frozenset({"help", "tro giup", "giup", "huong dan"})
SYSTEM_COMMANDS = frozenset({"huy", "cancel", "menu", "help", "trogiup"})

SORRY = N_("Sorry, something went wrong on our side. Please try again, or type /menu.")
HELP_TEXT = N_(
    "<b>Nông Dân Số</b> helps you sell your produce online, handle orders, learn digital "
    "skills and get answers.\n\n"
    "• Tap a button, or type its number, or type its words (with or without accents).\n"
    "• /menu shows the main menu.\n"
    '• /huy (or type "huy", "thoat") leaves what you are doing.\n'
    "• /ngonngu changes the language.\n"
    "• Just type your question and the bot will try to answer it."
)


class Engine(Generic[S]):
    """Runs the flows for every channel."""

    def __init__(
        self,
        ports: EnginePorts,
        services: S,
        flows: Iterable[Flow],
        opener: RequestOpener | None = None,
    ) -> None:
        self.ports = ports
        self.services = services  # handed to steps in their Ctx
        self.registry = Registry(flows, required=(MENU_FLOW, ONBOARDING_FLOW))  # or FlowError
        self.flows = self.registry.flows
        self._logged: set[tuple[str, ...]] = set()  # problems already logged, logged once
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._waiting: defaultdict[str, int] = defaultdict(int)
        self._link = next((f.link for f in self.flows.values() if f.link), None)
        free_text = self.registry.free_text
        self.router = Router(services, self.flows, free_text[1] if free_text else None, opener)

    async def handle(
        self, msg: Incoming, gate: contextlib.AbstractAsyncContextManager[object] | None = None
    ) -> list[Reply]:
        """Handle one update and return what to show the user.

        `gate`, if given, is held while the update is worked on, but not while its changes are
        made durable (so a channel can let few of some users' updates be worked on at once
        without losing the shared fsync).
        """
        msg = _typed(msg)
        key = msg.user_key
        self._waiting[key] += 1
        try:
            async with self._locks[key]:
                return await self._handle_locked(msg, gate or contextlib.nullcontext())
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # keep the lock table as small as the active users
                del self._waiting[key], self._locks[key]

    def expects_photo(self, user_key: str) -> bool:
        """Whether the question this user is at now is answered with a photo."""
        user = self.ports.users.by_key(user_key)
        if user is None:
            return False
        conv = self.ports.conversations.get(user.id)
        flow = self.flows.get(conv.flow)
        state = flow.states.get(conv.state or flow.first) if flow else None
        return state is not None and state.photo

    def already_handled(self, channel: str, event_id: str) -> bool:
        """Whether this platform update was handled before (a redelivery)."""
        return self.ports.seen.seen(f"{channel}:{event_id}")

    async def _handle_locked(
        self, msg: Incoming, gate: contextlib.AbstractAsyncContextManager[object]
    ) -> list[Reply]:
        try:
            async with self.ports.durability.user_turn(msg.user_key):  # across processes too
                for _attempt in range(1, CONFLICT_ATTEMPTS):
                    try:
                        return await self._handle_durably(msg, gate)
                    except StoreConflict:
                        log.info("another process changed the same data; handling again")
                return await self._handle_durably(msg, gate)  # a conflict now is a failure
        except StoreError:
            log.exception("store failure while handling %s", msg.user_key)
            return [
                Reply(_("Sorry, I could not save that just now. Please try again in a moment."))
            ]
        except Exception:
            log.exception("error while handling an update from %s", msg.user_key)
            return [Reply(_(SORRY))]

    async def _handle_durably(
        self, msg: Incoming, gate: contextlib.AbstractAsyncContextManager[object]
    ) -> list[Reply]:
        """One commit per update (a shared fsync on the embedded store), off the loop; every
        change is durable before the replies go out."""
        durability = self.ports.durability
        with durability.deferred_sync():
            async with gate:
                replies = await self._handle_once(msg)
            await durability.flush(ends_turn=True)
        return replies

    async def _handle_once(self, msg: Incoming) -> list[Reply]:
        """Dispatch an update unless it was handled before, and remember it was."""
        seen_key = f"{msg.channel}:{msg.event_id}" if msg.event_id else ""
        if seen_key and self.ports.seen.seen(seen_key):
            log.info("ignoring redelivered update %s", seen_key)
            return []
        known = self.ports.users.by_key(msg.user_key)
        welcomed = self.ports.welcomes.take(msg.user_key) if known is None else None
        starts = welcomed is None or msg.command.lower() == "start"
        opens_listing = self._link is not None and bool(_slug_of(msg))
        if known is None and starts and not opens_listing:
            # No record of the person until they answer the welcome's question; the update is
            # remembered all the same, or a redelivery (to another process too) welcomes twice.
            replies = self._welcome(msg)
        else:
            user = self._user_for(msg, known)
            set_locale(user.lang)
            set_addressee(address_of(user))
            replies = await self._dispatch(user, msg, welcomed)
        if seen_key:
            self.ports.seen.mark(seen_key, self.ports.clock.now().timestamp())
        return replies

    def _welcome(self, msg: Incoming) -> list[Reply]:
        """The welcome and first question for someone never seen; nothing is stored yet."""
        user = User(name=msg.display_name[:64], ident=[msg.user_key], last_channel=msg.user_key)
        set_locale(user.lang)
        set_addressee(address_of(user))
        flow = self.flows[ONBOARDING_FLOW]
        conv = Conversation(user_id=0)
        conv.start(flow.name, flow.first, {})
        ctx, first = self._ctx(user, conv, msg), flow.states[flow.first]
        replies = [*(first.enter(ctx) if first.enter else []), *first.ask(ctx)]
        self.ports.welcomes.keep(msg.user_key, conv, self.ports.clock.now().timestamp())
        return replies

    def _user_for(self, msg: Incoming, user: User | None) -> User:
        users = self.ports.users
        if user is None:
            now = self.ports.clock.now().isoformat()
            return users.create(msg.user_key, msg.display_name[:64], now)
        if user.last_channel != msg.user_key or user.blocked:
            user.last_channel, user.blocked = msg.user_key, False  # writing again = reachable
            users.save(user)
        return user

    async def _dispatch(
        self, user: User, msg: Incoming, welcomed: Conversation | None = None
    ) -> list[Reply]:
        conv = self.ports.conversations.get(user.id)
        conv.flow = self.registry.aliases.get(conv.flow, conv.flow)  # stored under a former id
        if msg.kind == "button" and msg.payload in self.registry.aliases:
            msg = replace(msg, payload=self.registry.aliases[msg.payload])  # an old menu button
        if welcomed is not None and not conv.flow:
            welcomed.user_id = user.id  # they answer the question _welcome asked
            conv = welcomed
        ctx = self._ctx(user, conv, msg)
        typed = fold(msg.text) if msg.kind == "text" else ""
        command = msg.command.lower() if msg.kind == "command" else ""

        # A shared listing ("/start p_7K3QX" from a link, "MUA 7K3QX" typed) opens for anyone.
        slug = _slug_of(msg)
        if slug and self._link is not None:
            return self._apply(ctx, conv, await self._link(ctx, slug))
        if self._asks_address(user, conv, msg, command):
            # Registered before forms of address existed: ask once, at the menu, not mid-form.
            return self._apply(ctx, conv, Start(ONBOARDING_FLOW, "address", {"once": True}))
        if command == "start":
            if user.registered:
                return self._apply(ctx, conv, Done())
            return self._apply(ctx, conv, Start(ONBOARDING_FLOW))
        if user.registered and (command == "menu" or typed == "menu" or msg.payload == "sys:menu"):
            self.router.suspend(ctx, conv)  # the menu puts a form aside; "huy" discards it
            return self._apply(ctx, conv, Done())
        if command in ("huy", "cancel") or typed in CANCEL_WORDS or msg.payload == "sys:cancel":
            # At the menu (or a hand-off offer) "huy" declines; a form put aside is discarded
            # only by a cancel inside it, so its "Continue" line stays.
            said = [Reply(_("Cancelled."))] if conv.flow else []
            if not user.registered:
                return self._apply(ctx, conv, Start(ONBOARDING_FLOW, say=said))
            return self._apply(ctx, conv, Done(said))
        if command == "menu" or msg.payload == "sys:menu":
            return self._apply(ctx, conv, Done())
        if command in ("help", "trogiup") or msg.payload == "sys:help" or typed in HELP_WORDS:
            return [Reply(_(HELP_TEXT)), *self._ask_again(ctx, conv)]
        if not user.registered and not self._guest_ok(conv):
            return self._apply(ctx, conv, Start(ONBOARDING_FLOW))
        if msg.payload == "sys:retry":
            return self._ask_again(ctx, conv)
        if command:
            target = self.registry.commands.get(command)
            if target is None:
                reply = Reply(_("I do not know that command. Type /help to see what I can do."))
                return [reply, *self._ask_again(ctx, conv)]
            command_flow, entry = target
            return self._apply(ctx, conv, Start(command_flow.name, entry, {"args": msg.args}))
        if msg.kind == "button" and ":" in msg.payload:
            prefix, *rest = msg.payload.split(":")
            action = self.registry.actions.get(prefix)
            if action is not None:
                action_flow, act = action
                outcome = self._declared(action_flow, "", await act(ctx, msg, rest))
                if isinstance(outcome, Done) and conv.flow and conv.flow != MENU_FLOW:
                    # A notification's button must not throw away a half-filled form.
                    return [*outcome.say, *self._ask_again(ctx, conv)]
                return self._apply(ctx, conv, outcome)

        flow = self.flows.get(conv.flow or MENU_FLOW)
        here = conv.state or (flow.first if flow else "")
        if flow is None or here not in flow.states:
            return self._lost(ctx, conv)
        state = flow.states[here]
        # Free text goes through the router first: a question, a menu action or a request
        # typed at any step is handled there; an answer reaches the step (bot/core/routing).
        routed = await self.router.route(ctx, conv, flow, here, state)
        if routed.outcome is not None:
            return self._apply(ctx, conv, routed.outcome)
        msg = routed.msg
        outcome = self._declared(flow, here, await state.answer(ctx, msg))
        free_text = self.registry.free_text
        if (
            isinstance(outcome, Retry)
            and flow.name == MENU_FLOW
            and free_text is not None
            and msg.kind != "button"
        ):
            outcome = self._declared(free_text[0], "", await free_text[1](ctx, msg))
        return self._apply(ctx, conv, outcome, answered=True)

    def _asks_address(self, user: User, conv: Conversation, msg: Incoming, command: str) -> bool:
        """Whether to ask a registered user how to address them (never over a form or alert)."""
        if user.address or not user.registered or conv.flow not in ("", MENU_FLOW):
            return False
        if command:
            return command in ("start", "menu")
        prefix = msg.payload.partition(":")[0]
        return prefix not in self.registry.actions and prefix != "sys"

    def _declared(self, flow: Flow, here: str, outcome: Outcome) -> Outcome:
        """`outcome` if state `here` of `flow` (its actions: "") declared where it leads.

        An undeclared move is refused: the person stays where they are, told something went
        wrong, and the mistake is logged once.
        """
        declared = flow.states[here].to if here else flow.leads_to
        if self.registry.allows(flow, declared, here, outcome):
            return outcome
        self._log_once("undeclared", flow.name, here or "(actions)", _goal(outcome))
        return Stay([Reply(_(SORRY))])

    def _lost(self, ctx: Ctx, conv: Conversation) -> list[Reply]:
        """The stored place no longer exists (a deploy removed it): back to the menu."""
        self._log_once("unknown", conv.flow, conv.state)
        sorry = _("Sorry, the step you were at no longer exists. Here is the main menu.")
        return self._apply(ctx, conv, Done([Reply(sorry)]))

    def _log_once(self, problem: str, *where: str) -> None:
        key = (problem, *where)
        if key in self._logged:
            return
        self._logged.add(key)
        if problem == "undeclared":
            log.error("flow %s, state %s: undeclared move to %s refused", *where)
        else:
            log.warning("conversations in unknown flow/state %s/%s go back to the menu", *where)

    def _ctx(self, user: User, conv: Conversation, msg: Incoming) -> Ctx:
        return Ctx(
            user=user,
            data=conv.data,
            services=self.services,
            msg=msg,
            now=self.ports.clock.now(),
            form_id=conv.form_id,
        )

    def _apply(
        self, ctx: Ctx, conv: Conversation, outcome: Outcome, answered: bool = False
    ) -> list[Reply]:
        """Move the conversation as `outcome` says, save it, and return what to say.

        `answered`: the current question judged the update (not a command or an action).
        """
        said: list[Reply]
        if isinstance(outcome, Retry):
            conv.tries += 1
            correction = outcome.correction
            if ctx.msg.kind == "button" and not self._offered(ctx, conv, ctx.msg.payload):
                correction = _(
                    "That button is from an earlier message. Please answer this question:"
                )
            if conv.tries >= MAX_TRIES:
                conv.tries = 0
                self.ports.conversations.save(conv)
                return [Reply(correction), self._help_offer()]
            self.ports.conversations.save(conv)
            return [Reply(correction), *self._ask_again(ctx, conv)]
        if isinstance(outcome, Stay):
            self.ports.conversations.save(conv)
            return outcome.say
        if isinstance(outcome, Ask):
            arriving = outcome.state != conv.state or not conv.flow
            same = answered and outcome.redraw and not arriving and not outcome.say
            if not conv.flow:
                conv.start(MENU_FLOW, outcome.state, {})
            conv.state, conv.tries = outcome.state, 0
            if same and ctx.msg.kind == "button":
                self.ports.conversations.save(conv)
                return _redrawn(self._ask_again(ctx, conv), outcome.toast)
            said = outcome.say
        elif isinstance(outcome, Start):
            flow = self.registry.flow(outcome.flow) or self.flows[MENU_FLOW]
            conv.start(flow.name, outcome.state or flow.first, outcome.data)
            ctx.data, ctx.form_id = conv.data, conv.form_id
            arriving, said = True, outcome.say
        else:
            guest_flow = self.flows.get(conv.flow)
            if not ctx.user.registered and outcome.show_menu and guest_flow and guest_flow.guests:
                # A guest (from a shared listing) leaving: the menu needs a profile first.
                return self._apply(ctx, conv, Start(ONBOARDING_FLOW, say=outcome.say))
            conv.clear()
            ctx.data, ctx.form_id = conv.data, conv.form_id
            self.ports.conversations.save(conv)
            if not outcome.show_menu:
                return outcome.say
            menu = self.flows[MENU_FLOW]
            return [*outcome.say, *menu.states[menu.first].ask(ctx)]
        entered = self.flows[conv.flow].states.get(conv.state)
        if arriving and entered is not None and entered.enter is not None:
            said = [*said, *entered.enter(ctx)]  # the state's own change, made once on arrival
        self.ports.conversations.save(conv)
        return [*said, *self._ask_again(ctx, conv)]

    def _ask_again(self, ctx: Ctx, conv: Conversation) -> list[Reply]:
        """The question the user is at now (the main menu when in no flow)."""
        if not ctx.user.registered and not self._guest_ok(conv):
            return []
        flow = self.flows.get(conv.flow or MENU_FLOW) or self.flows[MENU_FLOW]
        state = flow.states.get(conv.state or flow.first) or flow.states[flow.first]
        return state.ask(ctx)

    def _guest_ok(self, conv: Conversation) -> bool:
        """Whether a user who has not registered may be where this conversation is."""
        flow = self.flows.get(conv.flow)
        return conv.flow == ONBOARDING_FLOW or (flow is not None and flow.guests)

    def _offered(self, ctx: Ctx, conv: Conversation, payload: str) -> bool:
        """Whether the current question shows a button with this payload."""
        asked = self._ask_again(ctx, conv)
        return any(b.payload == payload for r in asked for row in r.buttons for b in row)

    def _help_offer(self) -> Reply:
        return Reply(
            _(
                "This seems hard to answer here. You can try again, go back to the menu, or read the help."
            ),
            buttons=[
                [Button(_("Try again"), "sys:retry")],
                [Button(_("Main menu"), "sys:menu"), Button(_("Help"), "sys:help")],
            ],
        )


def _typed(msg: Incoming) -> Incoming:
    """The update with what the person typed cleaned once for every step (line breaks kept)."""
    return replace(
        msg,
        text=clean(msg.text, multiline=True),
        args=clean(msg.args),
        display_name=clean(msg.display_name),
    )


def _goal(outcome: Outcome) -> str:
    """Where an outcome leads, as a state declares it ("state" or "flow/state")."""
    if isinstance(outcome, Ask):
        return outcome.state
    return f"{outcome.flow}/{outcome.state}" if isinstance(outcome, Start) else str(outcome)


def _redrawn(replies: list[Reply], toast: str) -> list[Reply]:
    """A question asked again after a tap on its own button: the screen it was pressed on.

    Only a one-message screen can be redrawn in place; a longer one is sent anew.
    """
    if not replies:
        return replies
    return [replace(replies[0], redraw=len(replies) == 1, toast=toast), *replies[1:]]


def _slug_of(msg: Incoming) -> str:
    """The listing a message opens: a start payload ("/start p_7K3QX") or a typed code."""
    if msg.kind == "command":
        return from_start(msg.args) if msg.command.lower() == "start" else ""
    return from_typed(fold(msg.text)) if msg.kind == "text" else ""
