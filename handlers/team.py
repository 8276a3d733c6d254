"""The team side of hỏi đáp: answer handed-off questions, list open ones, make FAQ entries.

Team members answer questions of their own areas; admins see and answer all of them, dismiss
them, and turn an answered one into an FAQ entry.
"""

from __future__ import annotations

import logging
import secrets

from bot.core.flow import Ctx, Done, Flow, Outcome, Retry, Start, State, Stay, is_text
from bot.core.fmt import esc, fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import _
from bot.services.faq import DuplicateQuestion
from bot.services.faq_csv import MAX_ANSWER
from bot.services.handoff import ANSWERED, DISMISSED, OPEN, VOICE, Handoff, may_answer
from bot.text import clean, clip
from handlers import faq

log = logging.getLogger(__name__)

LIST_MAX = 10  # open questions shown at once; oldest first


def _describe(ctx: Ctx, handoff: Handoff) -> str:
    asker = ctx.services.users.get(handoff.asker)
    name = asker.name if asker else _("(deleted user)")
    area = ctx.services.areas.name(handoff.area) or handoff.area or "—"
    question = _("🎤 voice message") if handoff.kind == VOICE else clip(handoff.question, 300)
    return fmt(
        _("#{id} {name} ({area}): {question}"),
        id=handoff.id,
        name=name,
        area=area,
        question=question,
    )


def _refuse(ctx: Ctx, msg: Incoming) -> Outcome:
    log.warning("user %s may not use %s; refused", ctx.user.id, msg.payload or msg.command)
    return Done([Reply(_("Sorry, only the digital-tech team of that commune can do this."))])


def ask_list(ctx: Ctx) -> list[Reply]:
    users = ctx.services.users
    if not (users.is_team(ctx.user) or ctx.is_admin):
        return [
            Reply(
                _(
                    "This is for digital-tech team members. Type your question and I will try to "
                    "answer it."
                )
            )
        ]
    found = ctx.services.handoffs.open_for(ctx.user, ctx.is_admin)
    if not found:
        return [Reply(_("No open questions. Well done!"))]
    lines = [fmt(_("<b>Open questions: {count}</b>"), count=len(found))]
    buttons = []
    for handoff in found[:LIST_MAX]:
        lines.append(_describe(ctx, handoff))
        row = [Button(fmt(_("Reply #{id}"), id=handoff.id), f"tm:reply:{handoff.id}")]
        if ctx.is_admin:
            row.append(Button(fmt(_("Dismiss #{id}"), id=handoff.id), f"tm:dis:{handoff.id}"))
        buttons.append(row)
    return [Reply("\n".join(lines), buttons=buttons)]


async def answer_list(ctx: Ctx, msg: Incoming) -> Outcome:
    if is_text(msg):
        return await faq.answer_text(ctx, msg.text)
    return Done()


def ask_reply(ctx: Ctx) -> list[Reply]:
    handoff = ctx.services.handoffs.get(int(ctx.data.get("hid", 0)))
    if handoff is None:
        return [Reply(_("That question no longer exists. Type /menu."))]
    intro = _describe(ctx, handoff)
    hint = _("Type your answer, or send a voice message; I will send it to them. /huy to stop.")
    return [Reply(f"{intro}\n\n{hint}")]


async def answer_reply(ctx: Ctx, msg: Incoming) -> Outcome:
    spoken = msg.photo if msg.kind == "voice" else ""
    if not is_text(msg) and not spoken:
        return Retry(_("Please type your answer, or send it as a voice message."))
    text = "" if spoken else clean(msg.text, multiline=True)
    if len(text) > MAX_ANSWER:
        return Retry(fmt(_("Please keep the answer under {n} characters."), n=MAX_ANSWER))
    handoffs = ctx.services.handoffs
    handoff = handoffs.get(int(ctx.data.get("hid", 0)))
    if handoff is None or not may_answer(ctx.services.users, ctx.user, handoff):
        return _refuse(ctx, msg)
    if handoff.status != OPEN:
        return Done([Reply(_("This question has already been answered or closed."))])
    handoff.status, handoff.answer, handoff.answered_by = ANSWERED, text, ctx.user.id
    handoff.answered_at = ctx.now.isoformat()
    if spoken:
        handoff.answer_media, handoff.answer_token = spoken, secrets.token_urlsafe(16)
    handoffs.save(handoff)  # recorded before it is relayed: a failed send loses nothing
    asker = ctx.services.users.get(handoff.asker)
    question = _("your voice message") if handoff.kind == VOICE else handoff.question

    def build() -> list[Reply]:
        head = fmt(
            _("💬 The digital-tech team answered your question “{question}”:"),
            question=clip(question, 200),
        )
        if spoken:  # their own voice, where the farmer's app can play it; a link elsewhere
            link = ctx.services.links.audio(handoff.answer_token)
            return [Reply(f"{head} 🎤", audio=spoken, audio_link=link)]
        return [Reply(f"{head}\n\n{esc(text)}")]

    sent = asker is not None and await ctx.services.notifier.notify(asker, build)
    said = (
        _("Sent. Thank you!") if sent else _("Saved, but the farmer cannot be reached right now.")
    )
    buttons = []
    if ctx.is_admin and handoff.kind != VOICE and not spoken:
        buttons = [[Button(_("Turn into an FAQ entry"), f"tm:faq:{handoff.id}")]]
    return Done([Reply(said, buttons=buttons)])


async def _action(ctx: Ctx, msg: Incoming, rest: list[str]) -> Outcome:
    """Buttons under handed-off questions: reply, dismiss, turn into FAQ."""
    if len(rest) != 2 or not rest[1].isdigit():
        return Stay()
    verb = rest[0]
    handoff = ctx.services.handoffs.get(int(rest[1]))
    if handoff is None:
        return Done([Reply(_("That question no longer exists."))])
    if verb == "reply":
        if not may_answer(ctx.services.users, ctx.user, handoff):
            return _refuse(ctx, msg)
        if handoff.status != OPEN:
            return Done([Reply(_("This question has already been answered or closed."))])
        return Start("team", "reply", {"hid": handoff.id})
    if not ctx.is_admin:
        return _refuse(ctx, msg)
    if verb == "dis":
        if handoff.status == OPEN:
            handoff.status = DISMISSED
            ctx.services.handoffs.save(handoff)
        return Done([Reply(fmt(_("Question #{id} closed."), id=handoff.id))])
    if verb == "faq":
        return _to_faq(ctx, handoff)
    return Stay()


def _to_faq(ctx: Ctx, handoff: Handoff) -> Outcome:
    """Make an FAQ entry from an answered question (once)."""
    repo = ctx.services.faq
    if handoff.status != ANSWERED or handoff.kind == VOICE or not handoff.answer:
        return Done([Reply(_("Only an answered, typed question can become an FAQ entry."))])
    existing = repo.get(handoff.faq_id) if handoff.faq_id else None
    if existing is None:
        try:
            existing = repo.add(
                clip(handoff.question, 300), handoff.answer, [], [], ctx.now.isoformat()
            )
        except DuplicateQuestion:
            return Done(
                [Reply(_("An FAQ entry with this question exists already. Edit it with /faq."))]
            )
        handoff.faq_id = existing.id
        ctx.services.handoffs.save(handoff)
    text = fmt(
        _("FAQ entry #{id} created: {question}\nEdit it (e.g. add other phrasings) with /faq."),
        id=existing.id,
        question=existing.question,
    )
    return Done([Reply(text)])


def build() -> Flow:
    """The team flow: /cauhoi, and the reply state behind the Reply button."""
    return Flow(
        name="team",
        first="list",
        states={"list": State(ask_list, answer_list), "reply": State(ask_reply, answer_reply)},
        commands={"cauhoi": "list"},
        actions={"tm": _action},
        leads_to=("reply",),
    )
