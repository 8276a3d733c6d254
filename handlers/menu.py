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
from bot.core.fmt import fmt
from bot.core.routing import FORM_STEPS, RESUME, resume_words
from bot.core.types import Incoming, Reply
from bot.i18n import N_, _

# Forms reached from inside another entry (no menu line of their own to be named after).
FORM_NAMES = {"order_out": N_("Record an order")}


def menu_choices(ctx: Ctx, entries: list[MenuEntry]) -> list[Choice]:
    """The menu lines this user may see, in order; a form put aside comes first."""
    visible = sorted((e for e in entries if e.visible(ctx)), key=lambda e: e.order)
    resume = resume_choice(ctx, entries)
    return [*resume, *(Choice(e.key, _(e.label), e.words) for e in visible)]


def resume_choice(ctx: Ctx, entries: list[MenuEntry]) -> list[Choice]:
    """ "Continue: Sell a product (step 3/8)" when a form waits (bot/core/routing resumes it)."""
    held = ctx.services.suspended.get(ctx.user.id, ctx.now)
    if held is None:
        return []
    entry = next((e for e in entries if e.key == held.flow), None)
    label = _(entry.label) if entry is not None else _(FORM_NAMES.get(held.flow, held.flow))
    form = label.split(" ", 1)[1] if " " in label and not label[0].isalnum() else label
    steps = FORM_STEPS.get(held.flow, ())
    if held.state in steps:
        text = fmt(
            _("▶️ Continue: {form} (step {n}/{total})"),
            form=form,
            n=steps.index(held.state) + 1,
            total=len(steps),
        )
    else:
        text = fmt(_("▶️ Continue: {form}"), form=form)
    return [Choice(RESUME, text, resume_words(text))]


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

    starts = tuple(f"{entry.key}/" for entry in entries)  # each entry's key is its flow's id
    return Flow(name="menu", first="main", states={"main": State(ask, answer, to=starts)})
