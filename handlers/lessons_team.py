"""Lesson progress of an area, for its community digital-tech team (and admins, any area)."""

from __future__ import annotations

import logging

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Flow,
    MenuEntry,
    Outcome,
    Retry,
    State,
    choice_buttons,
    is_text,
    match_choice,
)
from bot.core.fmt import esc, fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _
from bot.services.lessons import LearnerStatus, local_day
from bot.text import display_phone

log = logging.getLogger(__name__)

LIST_MAX = 25  # names per section: keeps each message well under Telegram's 4096 characters
AREA_SURE = 88.0
AREA_MAYBE = 60.0


def _allowed(ctx: Ctx, area: str) -> bool:
    return ctx.is_admin or (ctx.services.users.is_team(ctx.user) and area in ctx.user.team_areas)


def _may_ask(ctx: Ctx) -> bool:
    return ctx.is_admin or ctx.services.users.is_team(ctx.user)


def _who(status: LearnerStatus) -> str:
    """A learner's name, and phone so the team can call (only teams and admins see this)."""
    user = status.user
    phone = f" ({esc(display_phone(user.phone))})" if user.phone else ""
    return f"{esc(user.name or '—')}{phone}"


def _more(lines: list[str], total: int) -> list[str]:
    if total > len(lines):
        lines.append(fmt(_("… and {n} more"), n=total - len(lines)))
    return lines


def report(ctx: Ctx, area: str) -> list[Reply]:
    """The area's progress: counts, who finished, who is stuck where, who has not started."""
    service = ctx.services.lessons
    progress = service.area_progress(area, LIST_MAX)
    total = len(service.lessons.core())
    head = [
        fmt(_("<b>Lesson progress — {area}</b>"), area=ctx.services.areas.name(area)),
        fmt(
            _(
                "Households: {all} · finished the core course: {done} · "
                "learning: {doing} · not started: {idle}"
            ),
            all=progress.households,
            done=progress.finished,
            doing=progress.learning,
            idle=progress.idle,
        ),
    ]
    replies = [Reply("\n".join(head))]
    if progress.finished:
        lines = [f"🎓 {_who(s)} — {local_day(s.trained_at)}" for s in progress.first_finished]
        replies.append(Reply("\n".join([_("<b>Finished:</b>"), *_more(lines, progress.finished)])))
    if progress.learning:
        lines = []
        for s in progress.first_learning:
            if s.lesson is None:
                where = fmt(_("{done}/{total} core lessons"), done=s.core_done, total=total)
            elif s.step >= len(s.lesson.steps):
                where = fmt(_("{lesson}, quiz"), lesson=s.lesson.title)
            else:
                where = fmt(
                    _("{lesson}, step {n}/{steps}"),
                    lesson=s.lesson.title,
                    n=s.step + 1,
                    steps=len(s.lesson.steps),
                )
            since = fmt(
                _("{done}/{total} core, last active {day}"),
                done=s.core_done,
                total=total,
                day=local_day(s.updated_at),
            )
            lines.append(f"▶️ {_who(s)} — {where} ({since})")
        title = _("<b>Still learning</b> (longest without progress first):")
        replies.append(Reply("\n".join([title, *_more(lines, progress.learning)])))
    if progress.idle:
        names = _more([esc(s.user.name or "—") for s in progress.first_idle], progress.idle)
        label = _("<b>Not started:</b>")
        replies.append(Reply(f"{label} {', '.join(names)}"))
    return replies


# --- the flow: pick an area (when there is a choice), see its report --------------------------


def _auto_area(ctx: Ctx) -> str:
    """The area to show without asking: the one picked, the one typed after /tiendo, or the
    team's only area."""
    picked = str(ctx.data.get("area", ""))
    if picked and _allowed(ctx, picked):
        return picked
    typed = str(ctx.data.pop("args", "") or "")
    if typed:
        matches = ctx.services.areas.match(typed[:200])
        if matches and matches[0].score >= AREA_SURE and _allowed(ctx, matches[0].entry.id):
            return matches[0].entry.id
    areas = ctx.user.team_areas
    if not ctx.is_admin and len(areas) == 1:
        return areas[0]
    return ""


def _area_choices(ctx: Ctx, exclude: str = "") -> list[Choice]:
    areas = [a for a in (ctx.data.get("options") or ctx.user.team_areas) if a != exclude]
    choices = [Choice(f"area:{a}", ctx.services.areas.name(a)) for a in areas if _allowed(ctx, a)]
    return [*choices, Choice("menu", _("Back to menu"), ("quay lai", "tro ve", "ve menu"))]


def ask_view(ctx: Ctx) -> list[Reply]:
    if not _may_ask(ctx):
        return [
            Reply(
                _(
                    "Sorry, the lesson progress of an area is only for the community "
                    "digital-tech team. You can see your own progress in "
                    "<b>Learn digital skills</b>."
                ),
                buttons=[[Button(_("Back to menu"), "menu")]],
            )
        ]
    if ctx.data.get("options"):
        question = _("Did you mean one of these? Tap it or type the name again.")
        return [Reply(question, buttons=choice_buttons(_area_choices(ctx)))]
    area = _auto_area(ctx)
    if not area:
        question = _("Which commune or ward? Tap it or type its name.")
        return [Reply(question, buttons=choice_buttons(_area_choices(ctx)))]
    ctx.data["area"] = area
    if ctx.is_admin or len(ctx.user.team_areas) > 1:
        hint = _("To see another commune, tap it or type its name.")
    else:
        hint = _("Tap below to go back to the menu.")
    return [*report(ctx, area), Reply(hint, buttons=choice_buttons(_area_choices(ctx, area)))]


async def answer_view(ctx: Ctx, msg: Incoming) -> Outcome:
    if not _may_ask(ctx):
        log.warning("user %s (not team or admin) asked for an area's lesson progress", ctx.user.id)
        return Done()
    choice = match_choice(msg, _area_choices(ctx, str(ctx.data.get("area", ""))))
    if choice is not None:
        if choice.key == "menu":
            return Done()
        ctx.data["area"] = choice.key.removeprefix("area:")
        ctx.data.pop("options", None)
        return Ask("view")
    if not is_text(msg):
        return Retry(_("Please tap a commune or type its name."))
    matches = ctx.services.areas.match(msg.text[:200])
    likely = [m.entry.id for m in matches if m.score >= AREA_MAYBE]
    if not likely:
        return Retry(
            fmt(
                _('I could not find the commune "{typed}". Please type it again.'),
                typed=msg.text[:60],
            )
        )
    sure = matches[0].score >= AREA_SURE and (
        len(matches) == 1 or matches[0].score - matches[1].score >= 8
    )
    if not sure:
        ctx.data["options"] = likely
        return Ask("view")
    area = likely[0]
    if not _allowed(ctx, area):
        log.warning("team member %s asked for area %s outside their own", ctx.user.id, area)
        return Retry(_("Sorry, you can only see the communes of your own team."))
    ctx.data["area"] = area
    ctx.data.pop("options", None)
    return Ask("view")


def build() -> Flow:
    """The team's area progress flow."""
    return Flow(
        name="lesson_team",
        first="view",
        states={"view": State(ask_view, answer_view)},
        commands={"tiendo": "view"},
        menu=MenuEntry(
            "lesson_team",
            N_("📊 Lesson progress of my area"),
            70,
            visible=_may_ask,
            words=("tien do", "tien do hoc", "tien do bai hoc"),
        ),
    )
