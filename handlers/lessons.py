"""Học kỹ năng số: the lesson list, a lesson step by step, its quiz, and the certificate.

Where a learner is in a lesson lives in the progress record (stored on every step), not in
the conversation: the conversation only names the open lesson, so leaving, a restart or a
stale button can never move a learner to a step they did not choose from the current one.
Button payloads carry the lesson id and the step they were shown at ("nx:<id>:<step>").
"""

from __future__ import annotations

import logging

from bot.address import formal_title, title_name
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
    match_choice,
)
from bot.core.fmt import esc, fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _
from bot.services.lesson_content import Lesson
from bot.services.lessons import Learner, local_day
from bot.text import clip, fold

log = logging.getLogger(__name__)

PAGE_SIZE = 8
LABEL_MAX = 40  # a button label longer than this is cut off on small phones
DONE, DOING, NEW = "✅", "▶️", "⬜"

NEXT_WORDS = ("tiep", "tiep theo", "tiep tuc", "next", "ok", "xong")
BACK_WORDS = ("quay lai", "lui", "lui lai", "truoc", "back")
LEAVE_WORDS = ("nghi", "de sau", "hoc sau", "leave", "dung")
CONTINUE_WORDS = frozenset({"tiep", "hoc tiep", "tiep tuc", "continue"})

# The formal title before a name on the certificate ("Chứng nhận Ông/Bà …").
FORMAL_TITLES = {"m": N_("Mr."), "f": N_("Ms."), "": N_("Mr./Ms.")}


def _mark(learner: Learner, lesson: Lesson) -> str:
    if learner.is_done(lesson.id):
        return DONE
    return DOING if learner.of(lesson.id) else NEW


def _where(ctx: Ctx, learner: Learner, lesson: Lesson) -> str:
    """Where the learner is in a lesson: "step 2/5" or "quiz"."""
    position = ctx.services.lessons.position(learner, lesson)
    if position >= len(lesson.steps):
        return _("quiz")
    return fmt(_("step {n}/{total}"), n=position + 1, total=len(lesson.steps))


def _open(ctx: Ctx, lesson_id: str) -> Outcome:
    """Open a lesson where the learner left it (a finished one from its start, to review)."""
    service = ctx.services.lessons
    lesson = service.lessons.get(lesson_id)
    if lesson is None:
        return Ask("list", say=[Reply(_("That lesson is no longer available."))])
    learner = service.open(ctx.user.id, lesson, ctx.now)
    if learner.is_done(lesson.id) and service.position(learner, lesson) >= len(lesson.steps):
        service.move(ctx.user.id, lesson, 0, ctx.now)
    ctx.data["lesson"] = lesson.id
    return Ask("lesson")


def _opened_by_button(ctx: Ctx, msg: Incoming) -> Outcome | None:
    """An "open lesson" button from an earlier list is honoured from any lesson screen."""
    if msg.kind == "button" and msg.payload.startswith("open:"):
        return _open(ctx, msg.payload.removeprefix("open:"))
    return None


# --- the list ------------------------------------------------------------------------------


def _page(ctx: Ctx) -> tuple[int, list[Lesson], bool]:
    """The page shown, its lessons, and whether a next page exists."""
    lessons = list(ctx.services.lessons.lessons.lessons)
    last = max(0, (len(lessons) - 1) // PAGE_SIZE)
    page = min(max(int(ctx.data.get("page", 0)), 0), last)
    return page, lessons[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page < last


def _list_choices(ctx: Ctx, learner: Learner) -> list[Choice]:
    page, shown, more = _page(ctx)
    choices = [
        Choice(
            f"open:{lesson.id}",
            f"{_mark(learner, lesson)} {clip(lesson.title, LABEL_MAX)}",
            (lesson.title,),
        )
        for lesson in shown
    ]
    if page > 0:
        choices.append(Choice("page:prev", _("◀️ Previous page"), ("trang truoc",)))
    if more:
        choices.append(Choice("page:next", _("Next page ▶️"), ("trang sau",)))
    if learner.trained:
        choices.append(Choice("cert", _("🎓 My certificate"), ("chung nhan", "giay chung nhan")))
    choices.append(Choice("menu", _("Back to menu"), ("quay lai", "tro ve", "ve menu")))
    return choices


def ask_list(ctx: Ctx) -> list[Reply]:
    service = ctx.services.lessons
    learner = service.learner(ctx.user.id)
    _page_no, shown, _more = _page(ctx)
    if not service.lessons.lessons:
        return [
            Reply(
                _("Sorry, there are no lessons yet. Please come back later."),
                buttons=[[Button(_("Back to menu"), "menu")]],
            )
        ]
    lines = [
        _("<b>Learn digital skills</b>"),
        fmt(
            _("You have finished {done}/{total} core lessons."),
            done=service.core_done(learner),
            total=len(service.lessons.core()),
        ),
        "",
    ]
    for number, lesson in enumerate(shown, 1):
        line = f"{number}. {_mark(learner, lesson)} {esc(lesson.title)}"
        if learner.of(lesson.id) and not learner.is_done(lesson.id):
            line += f" — {_where(ctx, learner, lesson)}"
        if not lesson.core:
            line += " " + _("(optional)")
        lines.append(line)
    lines += ["", _("✅ finished · ▶️ in progress · ⬜ not started")]
    doing = service.in_progress(learner)
    if doing is not None:
        lines.append(
            fmt(_('You were learning: <b>{title}</b>. Type "tiep" to go on.'), title=doing.title)
        )
    lines.append(_("Tap a lesson or type its number."))
    return [Reply("\n".join(lines), buttons=choice_buttons(_list_choices(ctx, learner)))]


async def answer_list(ctx: Ctx, msg: Incoming) -> Outcome:
    learner = ctx.services.lessons.learner(ctx.user.id)
    doing = ctx.services.lessons.in_progress(learner)
    if doing is not None and msg.kind == "text" and fold(msg.text) in CONTINUE_WORDS:
        return _open(ctx, doing.id)
    choice = match_choice(msg, _list_choices(ctx, learner))
    if choice is None:
        return _opened_by_button(ctx, msg) or Retry(_("Please tap a lesson or type its number."))
    if choice.key.startswith("open:"):
        return _open(ctx, choice.key.removeprefix("open:"))
    if choice.key.startswith("page:"):
        page, _shown, _more = _page(ctx)
        ctx.data["page"] = page + (1 if choice.key == "page:next" else -1)
        return Ask("list", redraw=True)
    if choice.key == "cert":
        return Ask("list", say=[certificate(ctx, learner)])
    return Done()


# --- a lesson: its steps, then its quiz ---------------------------------------------------


def _lesson(ctx: Ctx) -> Lesson | None:
    return ctx.services.lessons.lessons.get(str(ctx.data.get("lesson", "")))


def _step_choices(lesson: Lesson, position: int) -> list[Choice]:
    last = position == len(lesson.steps) - 1
    return [
        Choice(
            f"nx:{lesson.id}:{position}", _("To the quiz ➡️") if last else _("Next ➡️"), NEXT_WORDS
        ),
        Choice(f"bk:{lesson.id}:{position}", _("⬅️ Back"), BACK_WORDS),
        Choice("leave", _("Leave (progress is saved)"), LEAVE_WORDS),
    ]


def _quiz_choices(lesson: Lesson, position: int) -> list[Choice]:
    options = [
        Choice(f"ans:{lesson.id}:{i}", str(i), (option,))
        for i, option in enumerate(lesson.quiz.options, 1)
    ]
    return [
        *options,
        Choice(f"bk:{lesson.id}:{position}", _("⬅️ Back"), BACK_WORDS),
        Choice("leave", _("Leave (progress is saved)"), LEAVE_WORDS),
    ]


def _choices(lesson: Lesson, position: int) -> list[Choice]:
    if position >= len(lesson.steps):
        return _quiz_choices(lesson, position)
    return _step_choices(lesson, position)


def ask_lesson(ctx: Ctx) -> list[Reply]:
    lesson = _lesson(ctx)
    if lesson is None:
        return [Reply(_("That lesson is no longer available.")), *ask_list(ctx)]
    service = ctx.services.lessons
    position = service.position(service.learner(ctx.user.id), lesson)
    title = f"<b>{esc(lesson.title)}</b>"
    if position < len(lesson.steps):
        where = fmt(_("step {n}/{total}"), n=position + 1, total=len(lesson.steps))
        text = f"{title} · {where}\n\n{esc(lesson.steps[position].text)}"
        buttons = [row[0] for row in choice_buttons(_step_choices(lesson, position))]
        return [Reply(text, buttons=[buttons[:1], buttons[1:]])]
    quiz = lesson.quiz
    options = "\n".join(f"{i}. {esc(option)}" for i, option in enumerate(quiz.options, 1))
    text = "\n\n".join(
        [
            f"{title} · " + _("quiz"),
            f"❓ {esc(quiz.question)}",
            options,
            _("Tap the number of your answer, or type it."),
        ]
    )
    choices = _quiz_choices(lesson, position)
    count = len(quiz.options)
    answers = [Button(c.label, c.key) for c in choices[:count]]
    others = [Button(f"{i}. {c.label}", c.key) for i, c in enumerate(choices[count:], count + 1)]
    return [Reply(text, buttons=[answers, others])]


async def answer_lesson(ctx: Ctx, msg: Incoming) -> Outcome:
    lesson = _lesson(ctx)
    if lesson is None:
        return await answer_list(ctx, msg)
    service = ctx.services.lessons
    position = service.position(service.learner(ctx.user.id), lesson)
    choice = match_choice(msg, _choices(lesson, position))
    if choice is None:
        opened = _opened_by_button(ctx, msg)
        if opened is not None:
            return opened
        if position >= len(lesson.steps):
            count = len(lesson.quiz.options)
            return Retry(
                fmt(_("Please tap or type the number of your answer (1–{count})."), count=count)
            )
        return Retry(
            _("Tap Next to go on, Back to read the previous step, or Leave to stop for now.")
        )
    kind = choice.key.split(":", 1)[0]
    if kind == "leave":
        where = _where(ctx, service.learner(ctx.user.id), lesson)
        text = fmt(
            _(
                "Your progress is saved ({where}). "
                "Open <b>Learn digital skills</b> any time to go on."
            ),
            where=where,
        )
        return Done([Reply(text)])
    if kind == "nx":
        service.move(ctx.user.id, lesson, position + 1, ctx.now)
        return Ask("lesson")
    if kind == "bk":
        if position == 0:
            return Ask("list")
        service.move(ctx.user.id, lesson, position - 1, ctx.now)
        return Ask("lesson")
    return _answered(ctx, lesson, int(choice.key.rsplit(":", 1)[1]) - 1)


def _answered(ctx: Ctx, lesson: Lesson, option: int) -> Outcome:
    """Judge a quiz answer (stored before the reply) and say why."""
    result = ctx.services.lessons.answer(ctx.user.id, lesson, option, ctx.now)
    explanation = esc(lesson.quiz.explanation)
    if not result.correct:
        text = _("❌ Not quite.") + f" {explanation}\n\n" + _("Please try again:")
        return Ask("lesson", say=[Reply(text)])
    said = [
        Reply(
            _("✅ Correct!")
            + f" {explanation}\n\n"
            + fmt(_("You have finished the lesson <b>{title}</b>."), title=lesson.title)
        )
    ]
    if result.newly_trained:
        log.info("user %s finished the core course", ctx.user.id)
        said.append(certificate(ctx, ctx.services.lessons.learner(ctx.user.id)))
    ctx.data["after"] = lesson.id
    return Ask("done", say=said)


# --- after a lesson --------------------------------------------------------------------------


def _done_choices(ctx: Ctx, learner: Learner) -> list[Choice]:
    upcoming = ctx.services.lessons.next_lesson(learner, str(ctx.data.get("after", "")))
    choices = []
    if upcoming is not None:
        label = _("Next lesson: {title}").format(title=clip(upcoming.title, LABEL_MAX))  # plain
        choices.append(Choice(f"open:{upcoming.id}", label, ("tiep", "bai tiep", "bai tiep theo")))
    choices.append(Choice("list", _("All lessons"), ("danh sach", "cac bai", "bai hoc")))
    choices.append(Choice("menu", _("Back to menu"), ("quay lai", "tro ve", "ve menu")))
    return choices


def ask_done(ctx: Ctx) -> list[Reply]:
    service = ctx.services.lessons
    learner = service.learner(ctx.user.id)
    upcoming = service.next_lesson(learner, str(ctx.data.get("after", "")))
    if upcoming is None:
        text = _("You have finished every lesson. Well done!")
    else:
        text = fmt(
            _("Next, we suggest: <b>{title}</b>\n{summary}"),
            title=upcoming.title,
            summary=upcoming.summary,
        )
    return [Reply(text, buttons=choice_buttons(_done_choices(ctx, learner)))]


async def answer_done(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _done_choices(ctx, ctx.services.lessons.learner(ctx.user.id)))
    if choice is None:
        return _opened_by_button(ctx, msg) or Retry(_("Please choose what to do next."))
    if choice.key.startswith("open:"):
        return _open(ctx, choice.key.removeprefix("open:"))
    if choice.key == "list":
        return Ask("list")
    return Done()


def certificate(ctx: Ctx, learner: Learner) -> Reply:
    """The certificate of the core course, for a trained learner."""
    service = ctx.services.lessons
    day = local_day(learner.trained_at)
    area = ctx.services.areas.name(ctx.user.area) or "—"
    finished = [lesson for lesson in service.lessons.lessons if learner.is_done(lesson.id)]
    lines = [
        _("🎓 <b>CERTIFICATE</b>"),
        _("<b>Digital skills for selling online</b>"),
        "",
        fmt(
            _("This certifies that {title} <b>{name}</b> ({area})"),
            title=_(FORMAL_TITLES[formal_title(ctx.user)]),
            name=title_name(ctx.user.name),
            area=area,
        ),
        fmt(_("completed the core course on {day}, with the lessons:"), day=day),
        *(f"{DONE} {esc(lesson.title)}" for lesson in finished),
        "",
        _("Nông Dân Số, with Lạng Sơn's community digital-tech teams. Congratulations!"),
    ]
    return Reply("\n".join(lines))


# --- admin: reload the lesson files --------------------------------------------------------


def _reload_choices() -> list[Choice]:
    return [
        Choice("reload", _("Reload again"), ("nap lai", "tai lai")),
        Choice("list", _("See the lessons"), ("bai hoc", "danh sach")),
        Choice("menu", _("Back to menu"), ("quay lai", "tro ve", "ve menu")),
    ]


def enter_reload(ctx: Ctx) -> list[Reply]:
    """Reload the lesson files (admins only), keeping the result for the question to show."""
    if not ctx.is_admin:
        return []
    loaded = ctx.services.lessons.reload()
    log.info("user %s reloaded the lessons", ctx.user.id)
    kept = {lesson.source for lesson in loaded.lessons}
    ctx.data["count"] = [len(loaded.lessons), len(loaded.core())]
    ctx.data["errors"] = [[str(error), error.file in kept] for error in loaded.errors]
    return []


def ask_reload(ctx: Ctx) -> list[Reply]:
    if not ctx.is_admin:
        log.warning("user %s asked to reload lessons without admin rights", ctx.user.id)
        return [
            Reply(
                _("Sorry, only administrators can reload the lessons."),
                buttons=[[Button(_("Back to menu"), "menu")]],
            )
        ]
    count, core = ctx.data.get("count", [0, 0])
    lines = [
        fmt(_("Lessons reloaded: {count} lessons, {core} of them core."), count=count, core=core)
    ]
    errors = ctx.data.get("errors", [])
    if errors:
        lines += ["", fmt(_("⚠️ {n} file(s) have problems and were not loaded:"), n=len(errors))]
        for text, was_kept in errors:
            note = " " + _("(the previous version is still used)") if was_kept else ""
            lines.append(f"• <code>{esc(text)}</code>{note}")
    return [Reply("\n".join(lines), buttons=choice_buttons(_reload_choices()))]


async def answer_reload(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return Done()
    choice = match_choice(msg, _reload_choices())
    if choice is None:
        return Retry(_("Please choose what to do next."))
    if choice.key == "reload":
        enter_reload(ctx)  # the same question again: reload here, not on arrival
        return Ask("reload")
    if choice.key == "list":
        return Ask("list")
    return Done()


def build() -> Flow:
    """The lessons flow."""
    return Flow(
        name="lessons",
        first="list",
        states={
            "list": State(ask_list, answer_list, to=("lesson",)),
            "lesson": State(ask_lesson, answer_lesson, to=("done", "list")),
            "done": State(ask_done, answer_done, to=("lesson", "list")),
            "reload": State(ask_reload, answer_reload, enter=enter_reload, to=("list",)),
        },
        commands={"hoc": "list", "baihoc": "list", "lessons": "list", "napbaihoc": "reload"},
        menu=MenuEntry(
            "lessons",
            N_("🎓 Learn digital skills"),
            30,
            visible=lambda ctx: ctx.user.registered,
            words=("hoc", "bai hoc", "hoc ky nang", "ky nang so", "lessons"),
        ),
    )
