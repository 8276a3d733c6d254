"""Hỏi đáp: answer what a farmer types from the FAQ, or hand the question to their area's team.

Text typed at the main menu that is no menu choice comes here (`free_text`), as do voice notes.
One confident match gets the answer and 👍/👎; close candidates get "did you mean" buttons;
nothing good enough gets an honest "not yet" and an offer to ask the team of the farmer's area.
"""

from __future__ import annotations

import logging

from bot.core.flow import Ctx, Done, Flow, MenuEntry, Outcome, Retry, State, Stay
from bot.core.fmt import esc, fmt
from bot.core.signals import CHAT_WORDS
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _
from bot.services.faq import FaqEntry
from bot.services.handoff import LOGGED, OPEN, VOICE, Handoff, team_of
from bot.services.users import TEAM
from bot.text import clean, clip, fold

log = logging.getLogger(__name__)

QUESTION_MAX = 1000  # longer pastes are clipped in the handoff (Telegram allows 4096)
LABEL_MAX = 60  # "did you mean" button labels
_GREETING = frozenset({"chao", "hi", "hello", "alo", "helo", "xin", "hey"})
_THANKS = frozenset({"cam on", "camon", "thanks", "thank", "tks", "thank you", "cam ta"})
# Words that carry no question: a message made only of these is small talk ("có" too, here).
_SMALL_TALK = CHAT_WORDS | {"co"} | {w for t in _THANKS for w in t.split()}


def small_talk(text: str) -> str:
    """'greeting', 'thanks', 'chat' for small talk, '' for a real question."""
    folded = fold(text)
    words = folded.split()
    if not words or any(w not in _SMALL_TALK for w in words):
        return ""
    if any(t in folded for t in _THANKS):
        return "thanks"
    return "greeting" if _GREETING & set(words) else "chat"


def is_junk(text: str) -> bool:
    """Whether text holds no words at all ("???", "123456", "asdfgh")."""
    words = [w for w in fold(text).split() if w.isalpha()]
    return not words or (len(words) == 1 and not any(c in "aeiouy" for c in words[0][1:]))


# The entry about reaching the commune's team: its answer names the team from the records.
TEAM_ENTRY = "bot-lien-he-to-cns"
TEAM_NAMES_MAX = 10


def team_line(ctx: Ctx, entry: FaqEntry) -> str:
    """Who the asker's commune team is on the bot (for the team entry), or ""."""
    if entry.key != TEAM_ENTRY or not ctx.user.area:
        return ""
    area = ctx.services.areas.name(ctx.user.area)
    names = sorted(
        u.name for u in ctx.services.users.with_role(TEAM) if ctx.user.area in u.team_areas
    )
    if not names:
        return fmt(
            _(
                "{area} has no digital-tech team member on Nông Dân Số yet: questions go to the "
                "province staff."
            ),
            area=area,
        )
    return fmt(
        _("The digital-tech team of {area} on Nông Dân Số: {names}."),
        area=area,
        names=", ".join(names[:TEAM_NAMES_MAX]),
    )


def answer_reply(entry: FaqEntry, extra: str = "") -> Reply:
    """An FAQ answer (and what only this asker needs) with the 👍/👎 question under it."""
    question = _("Did this help?")
    answer = esc(entry.answer) + (f"\n\n{extra}" if extra else "")
    text = f"<b>{esc(entry.question)}</b>\n\n{answer}\n\n<i>{question}</i>"
    return Reply(
        text,
        buttons=[[Button("👍", f"faq:up:{entry.id}"), Button("👎", f"faq:dn:{entry.id}")]],
    )


def _offer(handoff: Handoff, intro: str) -> Reply:
    """Offer to send a logged question to the team."""
    return Reply(
        intro,
        buttons=[
            [Button(_("Send to the digital-tech team"), f"ho:send:{handoff.id}")],
            [Button(_("No, thank you"), f"ho:no:{handoff.id}")],
        ],
    )


async def answer_text(ctx: Ctx, text: str) -> Outcome:
    """Answer a typed question: small talk, an FAQ answer, suggestions, or a handoff offer."""
    kind = small_talk(text)
    if kind == "thanks":
        return Done([Reply(_("You are welcome! Ask me anything else any time."))])
    if kind:
        return Done([Reply(_("Hello {You_name}! Type your question, or choose below."))])
    if is_junk(text):
        return Retry(
            _(
                "Sorry, I did not understand. Please type your question in words, or choose from "
                "the menu."
            )
        )
    faq = ctx.services.faq
    result = faq.match(text)
    if result.confident is not None:
        entry = faq.get(result.confident.entry_id)
        if entry is not None:
            return Done([answer_reply(entry, team_line(ctx, entry))], show_menu=False)
    now = ctx.now.isoformat()
    handoff = ctx.services.handoffs.log(ctx.user, clip(clean(text), QUESTION_MAX), now)
    entries = [e for e in (faq.get(h.entry_id) for h in result.suggestions) if e is not None]
    if entries:
        buttons = [[Button(clip(e.question, LABEL_MAX), f"faq:a:{e.id}")] for e in entries]
        buttons.append([Button(_("None of these — ask the team"), f"ho:send:{handoff.id}")])
        return Done([Reply(_("Did you mean…"), buttons=buttons)], show_menu=False)
    intro = _(
        "Sorry, I do not have an answer to that yet. Shall I send your question to the "
        "digital-tech team of your commune? They will answer here."
    )
    return Done([_offer(handoff, intro)], show_menu=False)


async def free_text(ctx: Ctx, msg: Incoming) -> Outcome:
    """Whatever was typed (or spoken) at the main menu that is no menu choice."""
    if msg.kind == "voice":
        return await _voice(ctx, msg)
    if msg.kind != "text" or not msg.text.strip():
        return Retry(
            _("Sorry, I did not understand. Please choose from the menu or type your question.")
        )
    return await answer_text(ctx, msg.text)


async def _voice(ctx: Ctx, msg: Incoming) -> Outcome:
    """A voice note: the bot cannot listen, so the area's team gets it as a question."""
    handoff = ctx.services.handoffs.log(ctx.user, "", ctx.now.isoformat(), VOICE, msg.photo)
    sent = await send_to_team(ctx, handoff)
    if sent:
        text = _(
            "I cannot listen to voice messages, so I have passed yours to the digital-tech team "
            "of your commune. They will answer here. You can also type your question."
        )
    else:
        text = _(
            "I cannot listen to voice messages. Your commune has no digital-tech team member on "
            "the bot yet, so I have kept it for the province staff. Typing your question gets a "
            "faster answer."
        )
    return Done([Reply(text)])


async def send_to_team(ctx: Ctx, handoff: Handoff) -> int:
    """Open a handoff and tell every team member of its area; return how many were told."""
    services = ctx.services
    handoff.status = OPEN
    services.handoffs.save(handoff)  # on disk before anyone is told about it
    asker = services.users.get(handoff.asker) or ctx.user
    area = services.areas.name(handoff.area) or handoff.area or "—"

    def build() -> list[Reply]:
        if handoff.kind == VOICE:
            body = fmt(
                _(
                    "🎤 {name} ({area}, {phone}) sent this voice message. Please listen and "
                    "answer: tap Reply, then type or record your answer, or call them."
                ),
                name=asker.name,
                area=area,
                phone=asker.phone or "—",
            )
            link = services.links.audio(handoff.media_token)
            reply = [[Button(_("Reply"), f"tm:reply:{handoff.id}")]]
            return [Reply(body, buttons=reply, audio=handoff.media, audio_link=link)]
        else:
            body = fmt(
                _("❓ Question from {name} ({area}):\n{question}"),
                name=asker.name,
                area=area,
                question=handoff.question,
            )
        return [Reply(body, buttons=[[Button(_("Reply"), f"tm:reply:{handoff.id}")]])]

    told = 0
    for member in team_of(services.users, handoff.area):
        if member.id != asker.id and await services.notifier.notify(member, build):
            told += 1
    log.info("handoff %s (area %s) sent to %d team member(s)", handoff.id, handoff.area, told)
    return told


async def _action(ctx: Ctx, msg: Incoming, rest: list[str]) -> Outcome:
    """Buttons under answers: show an entry, 👍, 👎."""
    if len(rest) != 2 or not rest[1].isdigit():
        return Stay()
    verb, entry_id = rest[0], int(rest[1])
    entry = ctx.services.faq.get(entry_id)
    if entry is None:
        return Done([Reply(_("That answer has been removed. Please ask again."))], show_menu=False)
    if verb == "a":
        return Done([answer_reply(entry, team_line(ctx, entry))], show_menu=False)
    if verb in ("up", "dn"):
        ctx.services.faq.vote(entry_id, ctx.user.id, verb == "up")
        if verb == "up":
            return Done([Reply(_("Thank you! Glad it helped."))], show_menu=False)
        return Done(
            [
                Reply(
                    _(
                        "Thank you for telling me. Please try asking in other words, or ask the "
                        "team via “Questions & answers”."
                    )
                )
            ],
            show_menu=False,
        )
    return Stay()


async def _handoff_action(ctx: Ctx, msg: Incoming, rest: list[str]) -> Outcome:
    """The asker's answer to "send it to the team?"."""
    if len(rest) != 2 or not rest[1].isdigit():
        return Stay()
    handoff = ctx.services.handoffs.get(int(rest[1]))
    if handoff is None or handoff.asker != ctx.user.id:
        log.warning("user %s pressed %s for someone else's question", ctx.user.id, msg.payload)
        return Done([Reply(_("Sorry, that button is not for you."))])
    if rest[0] == "no":
        return Done([Reply(_("All right. Ask me anything else any time."))])
    if handoff.status != LOGGED:
        return Done(
            [Reply(_("Your question has already been sent to the team."))], show_menu=False
        )
    told = await send_to_team(ctx, handoff)
    if told:
        return Done(
            [Reply(_("Sent. The digital-tech team of your commune will answer you here."))]
        )
    return Done(
        [
            Reply(
                _(
                    "Your commune has no digital-tech team member on the bot yet. I have kept "
                    "your question for the province staff, who will answer here."
                )
            )
        ]
    )


def ask_question(ctx: Ctx) -> list[Reply]:
    return [
        Reply(
            _(
                "Type your question in your own words (with or without accents). For example: "
                "<i>mở gian hàng trên Postmart thế nào</i>."
            )
        )
    ]


async def answer_question(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "voice":
        return await _voice(ctx, msg)
    if msg.kind != "text" or not msg.text.strip():
        return Retry(_("Please type your question."))
    return await answer_text(ctx, msg.text)


def build() -> Flow:
    """The FAQ flow: the menu entry, free text at the menu, and the answer buttons."""
    return Flow(
        name="faq",
        first="ask",
        states={"ask": State(ask_question, answer_question)},
        commands={"hoidap": "ask"},
        menu=MenuEntry(
            "faq", N_("❓ Questions & answers"), 40, words=("hoi dap", "cau hoi", "hoi")
        ),
        actions={"faq": _action, "ho": _handoff_action},
        free_text=free_text,
    )
