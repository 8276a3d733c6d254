"""The main menu: what the bot can do for this user, picked by button, number or words."""

from __future__ import annotations

from bot.core.flow import (
    Choice,
    Ctx,
    Flow,
    MenuEntry,
    Outcome,
    Retry,
    Start,
    State,
    ask_choice,
    match_choice,
)
from bot.core.types import Incoming, Reply
from bot.i18n import _


def menu_choices(ctx: Ctx, entries: list[MenuEntry]) -> list[Choice]:
    """The menu lines this user may see, in order."""
    visible = sorted((e for e in entries if e.visible(ctx)), key=lambda e: e.order)
    return [Choice(e.key, _(e.label), e.words) for e in visible]


def build(entries: list[MenuEntry]) -> Flow:
    """The menu flow over the entries other flows contribute."""

    def ask(ctx: Ctx) -> list[Reply]:
        text = _("<b>Main menu</b>\n{You_name}, what would you like to do?")
        hint = _("Tap a button, type its number, or just type your question.")
        return ask_choice(f"{text}\n{hint}", menu_choices(ctx, entries), columns=1)

    async def answer(ctx: Ctx, msg: Incoming) -> Outcome:
        choice = match_choice(msg, menu_choices(ctx, entries))
        if choice is None:
            return Retry(_("Sorry, I did not understand. Please choose from the menu."))
        return Start(choice.key)

    return Flow(name="menu", first="main", states={"main": State(ask, answer)})
