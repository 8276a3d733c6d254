"""/faq for admins: search the FAQ, add an entry step by step, edit or delete one."""

from __future__ import annotations

import logging

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Flow,
    Outcome,
    Retry,
    State,
    ask_choice,
    is_text,
    match_choice,
)
from bot.core.fmt import esc, fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _
from bot.services.faq import DuplicateQuestion, FaqEntry
from bot.services.faq_csv import MAX_ANSWER, MAX_QUESTION, split_list
from bot.text import clean, clip
from handlers import faq

log = logging.getLogger(__name__)

SKIP_WORDS = frozenset({"-", "bo qua", "skip", "khong"})
# Fields an admin can edit, with the prompt asking for the new value.
FIELDS = {
    "question": N_("Send the new question."),
    "answer": N_("Send the new answer."),
    "alternatives": N_("Send the other ways people ask it, separated by | (or “-” for none)."),
    "tags": N_("Send the tags, separated by | (or “-” for none)."),
}


def _entry(ctx: Ctx) -> FaqEntry | None:
    return ctx.services.faq.get(int(ctx.data.get("entry", 0)))


def _card(entry: FaqEntry) -> str:
    alternatives = " | ".join(entry.alternatives) or "—"
    tags = ", ".join(entry.tags) or "—"
    return (
        f"<b>#{entry.id} {esc(entry.question)}</b>\n"
        f"{esc(clip(entry.answer, 1500))}\n\n"
        + fmt(_("Other phrasings: {alternatives}"), alternatives=alternatives)
        + "\n"
        + fmt(_("Tags: {tags}"), tags=tags)
        + "\n"
        + fmt(_("👍 {up} · 👎 {down}"), up=entry.up, down=entry.down)
    )


async def _not_admin(ctx: Ctx, msg: Incoming) -> Outcome:
    """A non-admin here just gets their text answered like any question."""
    log.warning("user %s tried the FAQ editor", ctx.user.id)
    if is_text(msg):
        return await faq.answer_text(ctx, msg.text)
    return Done()


# --- home: search or add ----------------------------------------------------------------------


def _home_choices() -> list[Choice]:
    return [
        Choice("fa-add", _("➕ Add an entry"), ("them", "add")),
        Choice("fa-back", _("Back to menu"), ("quay lai", "back")),
    ]


def ask_home(ctx: Ctx) -> list[Reply]:
    if not ctx.is_admin:
        return [
            Reply(
                _("Only admins can edit the FAQ. Type your question and I will try to answer it.")
            )
        ]
    args = str(ctx.data.pop("args", "") or "")
    if args:
        ctx.data["search"] = args
    results = ctx.services.faq.search(ctx.data["search"]) if ctx.data.get("search") else []
    if ctx.data.get("search"):
        head = fmt(_("Results for “{q}”: {n}"), q=ctx.data["search"], n=len(results))
    else:
        head = fmt(
            _("<b>FAQ</b>: {n} entries. Type words to search, or add one."),
            n=len(ctx.services.faq),
        )
    buttons = [[Button(clip(f"#{e.id} {e.question}", 60), f"fa-open-{e.id}")] for e in results]
    choices = ask_choice(head, _home_choices())[0]
    return [Reply(head, buttons=[*buttons, *choices.buttons])]


async def answer_home(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return await _not_admin(ctx, msg)
    if msg.kind == "button" and msg.payload.startswith("fa-open-"):
        entry_id = msg.payload.removeprefix("fa-open-")
        if entry_id.isdigit() and ctx.services.faq.get(int(entry_id)):
            ctx.data["entry"] = int(entry_id)
            return Ask("entry")
        return Retry(_("That entry no longer exists."))
    choice = match_choice(msg, _home_choices())
    if choice is not None and choice.key == "fa-add":
        ctx.data["new"] = {}
        return Ask("add_question")
    if choice is not None:
        return Done()
    if not is_text(msg):
        return Retry(_("Type words to search, or choose."))
    ctx.data["search"] = clip(clean(msg.text), 100)
    return Ask("home")


# --- one entry: edit or delete ------------------------------------------------------------


def _entry_choices() -> list[Choice]:
    return [
        Choice("fe-question", _("Edit question")),
        Choice("fe-answer", _("Edit answer")),
        Choice("fe-alternatives", _("Edit other phrasings")),
        Choice("fe-tags", _("Edit tags")),
        Choice("fe-delete", _("Delete"), ("xoa",)),
        Choice("fe-back", _("Back to search"), ("quay lai", "back")),
    ]


def ask_entry(ctx: Ctx) -> list[Reply]:
    entry = _entry(ctx)
    if entry is None:
        return [Reply(_("That entry no longer exists. Type /faq."))]
    return ask_choice(_card(entry), _entry_choices(), columns=2)


async def answer_entry(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return await _not_admin(ctx, msg)
    choice = match_choice(msg, _entry_choices())
    if choice is None:
        return Retry(_("Please choose what to change."))
    if choice.key == "fe-back" or _entry(ctx) is None:
        return Ask("home")
    if choice.key == "fe-delete":
        return Ask("delete")
    ctx.data["field"] = choice.key.removeprefix("fe-")
    return Ask("edit")


def ask_edit(ctx: Ctx) -> list[Reply]:
    return [Reply(_(FIELDS.get(str(ctx.data.get("field")), FIELDS["answer"])))]


def _value(field: str, text: str) -> tuple[object, str]:
    """The typed value for a field, or why it does not fit."""
    text = clean(text, multiline=field == "answer")
    if field in ("alternatives", "tags"):
        return ([] if text.lower() in SKIP_WORDS else split_list(text, "|;\n")), ""
    limit = MAX_QUESTION if field == "question" else MAX_ANSWER
    if len(text) > limit:
        return None, fmt(_("Please keep it under {n} characters."), n=limit)
    return text, ""


async def answer_edit(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return await _not_admin(ctx, msg)
    entry = _entry(ctx)
    field = str(ctx.data.get("field"))
    if entry is None or field not in FIELDS:
        return Ask("home")
    if not is_text(msg):
        return Retry(_("Please type it as text."))
    value, problem = _value(field, msg.text)
    if problem:
        return Retry(problem)
    setattr(entry, field, value)
    entry.updated_at = ctx.now.isoformat()
    try:
        ctx.services.faq.save(entry)
    except DuplicateQuestion:
        return Retry(_("Another entry already has this question."))
    log.info("admin %s edited FAQ %s (%s)", ctx.user.id, entry.id, field)
    return Ask("entry", [Reply(_("Saved."))])


def _delete_choices() -> list[Choice]:
    return [
        Choice("fd-yes", _("Yes, delete"), ("co", "xoa", "yes")),
        Choice("fd-no", _("No, keep it"), ("khong", "no")),
    ]


def ask_delete(ctx: Ctx) -> list[Reply]:
    entry = _entry(ctx)
    name = entry.question if entry else "—"
    return ask_choice(fmt(_("Delete “{q}” for good?"), q=name), _delete_choices())


async def answer_delete(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return await _not_admin(ctx, msg)
    choice = match_choice(msg, _delete_choices())
    if choice is None:
        return Retry(_("Please choose 1 (delete) or 2 (keep)."))
    entry = _entry(ctx)
    if choice.key == "fd-no" or entry is None:
        return Ask("entry")
    ctx.services.faq.delete(entry.id)
    log.info("admin %s deleted FAQ %s", ctx.user.id, entry.id)
    return Ask("home", [Reply(_("Deleted."))])


# --- add, step by step --------------------------------------------------------------------


def _asker(field: str) -> State:
    """A step of the guided add: ask for `field`, keep it, go to the next step."""
    steps = list(FIELDS)
    prompts = {
        "question": N_("New entry, step 1 of 4: type the question as farmers would ask it."),
        "answer": N_("Step 2 of 4: type the answer (short, plain words)."),
        "alternatives": N_(
            "Step 3 of 4: other ways people ask it, separated by | (or “-” to skip)."
        ),
        "tags": N_("Step 4 of 4: tags, separated by | (or “-” to skip)."),
    }

    def ask(ctx: Ctx) -> list[Reply]:
        return [Reply(_(prompts[field]))]

    async def answer(ctx: Ctx, msg: Incoming) -> Outcome:
        if not ctx.is_admin:
            return await _not_admin(ctx, msg)
        if not is_text(msg):
            return Retry(_("Please type it as text."))
        value, problem = _value(field, msg.text)
        if problem:
            return Retry(problem)
        new = ctx.data.setdefault("new", {})
        new[field] = value
        if field == "question" and ctx.services.faq.by_question(str(value)):
            return Retry(_("Another entry already has this question."))
        position = steps.index(field)
        if position + 1 < len(steps):
            return Ask(f"add_{steps[position + 1]}")
        try:
            entry = ctx.services.faq.add(
                new["question"],
                new["answer"],
                new["alternatives"],
                new["tags"],
                ctx.now.isoformat(),
            )
        except DuplicateQuestion:
            return Ask("add_question", [Reply(_("Another entry already has this question."))])
        log.info("admin %s added FAQ %s", ctx.user.id, entry.id)
        ctx.data["entry"] = entry.id
        return Ask("entry", [Reply(_("Added. Farmers get this answer from now on."))])

    return State(ask, answer, to=(*(f"add_{name}" for name in FIELDS), "entry"))


def build() -> Flow:
    """The admin FAQ editor."""
    return Flow(
        name="faqadmin",
        first="home",
        states={
            "home": State(ask_home, answer_home, to=("add_question", "entry")),
            "entry": State(ask_entry, answer_entry, to=("delete", "edit", "home")),
            "edit": State(ask_edit, answer_edit, to=("entry", "home")),
            "delete": State(ask_delete, answer_delete, to=("entry", "home")),
            **{f"add_{field}": _asker(field) for field in FIELDS},
        },
        commands={"faq": "home"},
    )
