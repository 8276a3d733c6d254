"""Broadcasts: a team member (or admin) writes a notice, picks who gets it, previews, sends.

Also the recipients' side: `/tatthongbao` and the button under every notice opt out,
`/batthongbao` opts back in; and the author's "stop sending" button under the progress.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Flow,
    MenuEntry,
    Outcome,
    Retry,
    Start,
    State,
    Stay,
    ask_choice,
    choice_buttons,
    is_text,
    match_choice,
)
from bot.core.fmt import fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, VN_TZ, _, format_moment, format_number
from bot.services.broadcast import (
    CAPTION_TEXT_MAX,
    TEXT_MAX,
    Audience,
    render,
)
from bot.services.users import BUYER, FARMER, TEAM
from bot.text import clean
from handlers.roles import match_area

log = logging.getLogger(__name__)

SCHEDULE_MAX_DAYS = 30
_TIME = re.compile(r"(\d{1,2})\s*(?::|h|g|giờ|gio)\s*(\d{2})?")
_DATE = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}))?")
ROLE_LABELS = {
    "": N_("everyone"),
    FARMER: N_("farmers"),
    BUYER: N_("buyers"),
    TEAM: N_("team members"),
}
TRAINED_LABELS = {"": N_("any"), "yes": N_("trained"), "no": N_("not yet trained")}


def _allowed(ctx: Ctx) -> bool:
    return ctx.is_admin or ctx.services.users.is_team(ctx.user)


def _may_reach(ctx: Ctx, areas: list[str]) -> bool:
    """Admins reach any area (and every area at once); team members only their own."""
    if ctx.is_admin:
        return True
    own = set(ctx.user.team_areas) if ctx.services.users.is_team(ctx.user) else set()
    return bool(areas) and set(areas) <= own


def _refuse(ctx: Ctx, what: str) -> Outcome:
    log.warning("user %s may not %s; refused", ctx.user.id, what)
    return Done([Reply(_("Sorry, only the digital-tech team of a commune can send notices."))])


def _menu_choice() -> Choice:
    return Choice("menu", _("Cancel"), ("huy", "thoi", "cancel"))


# --- the text and photo -------------------------------------------------------------------


def ask_text(ctx: Ctx) -> list[Reply]:
    if not _allowed(ctx):
        return [Reply(_("Sorry, only the digital-tech team of a commune can send notices."))]
    return [
        Reply(
            _(
                "<b>New notice</b>\nType the message for the people of your commune. "
                "You can also send a photo with a caption."
            )
        )
    ]


async def answer_text(ctx: Ctx, msg: Incoming) -> Outcome:
    if not _allowed(ctx):
        return _refuse(ctx, "compose a broadcast")
    if msg.kind == "photo":
        ctx.data["photo"] = msg.photo
        if not msg.text.strip():
            return Ask("text", [Reply(_("Photo received. Now type the message to go with it."))])
        return _take_text(ctx, msg.text, next_state="areas")
    if not is_text(msg):
        return Retry(_("Please type the message (or send a photo with a caption)."))
    return _take_text(ctx, msg.text, next_state="photo" if not ctx.data.get("photo") else "")


def _take_text(ctx: Ctx, text: str, next_state: str) -> Outcome:
    text = clean(text, multiline=True)
    limit = CAPTION_TEXT_MAX if ctx.data.get("photo") else TEXT_MAX
    if len(text) > limit:
        return Retry(
            fmt(
                _("That is {n} characters; a notice can have at most {limit}. Please shorten it."),
                n=format_number(len(text)),
                limit=format_number(limit),
            )
        )
    ctx.data["text"] = text
    if next_state == "photo":
        return Ask("photo")
    return _to_areas(ctx)


def _photo_choices() -> list[Choice]:
    return [Choice("nophoto", _("No photo, continue"), ("khong", "bo qua", "tiep", "skip"))]


def ask_photo(ctx: Ctx) -> list[Reply]:
    return ask_choice(
        _("Add a photo? Send it now, or tap to continue without one."), _photo_choices()
    )


async def answer_photo(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "photo":
        if len(str(ctx.data.get("text", ""))) > CAPTION_TEXT_MAX:
            return Retry(
                fmt(
                    _("With a photo the message can have at most {limit} characters."),
                    limit=format_number(CAPTION_TEXT_MAX),
                )
            )
        ctx.data["photo"] = msg.photo
        return _to_areas(ctx)
    if match_choice(msg, _photo_choices()) is None:
        return Retry(_("Please send a photo, or tap to continue without one."))
    return _to_areas(ctx)


# --- the audience -------------------------------------------------------------------------


def _to_areas(ctx: Ctx) -> Outcome:
    if not ctx.is_admin and len(ctx.user.team_areas) == 1:
        ctx.data["areas"] = list(ctx.user.team_areas)
        return Ask("audience")
    return Ask("areas")


def _area_choices(ctx: Ctx) -> list[Choice]:
    if ctx.is_admin:
        everyone = Choice("areas:all", _("Every commune"), ("tat ca", "toan tinh", "all"))
        options = [
            Choice(f"area:{a}", ctx.services.areas.name(a)) for a in ctx.data.get("options", [])
        ]
        return [*options, everyone, _menu_choice()]
    mine = [Choice(f"area:{a}", ctx.services.areas.name(a)) for a in ctx.user.team_areas]
    return [*mine, Choice("areas:mine", _("All my communes"), ("tat ca", "all")), _menu_choice()]


def ask_areas(ctx: Ctx) -> list[Reply]:
    if ctx.is_admin:
        text = _(
            "Which commune? Type its name (several: separate them with commas), or tap below."
        )
    else:
        text = _("Which of your communes?")
    return [Reply(text, buttons=choice_buttons(_area_choices(ctx)))]


async def answer_areas(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _area_choices(ctx))
    if choice is not None:
        if choice.key == "menu":
            return Done([Reply(_("The notice was not sent."))])
        if choice.key == "areas:all":
            areas: list[str] = []
        elif choice.key == "areas:mine":
            areas = list(ctx.user.team_areas)
        else:
            areas = [choice.key.removeprefix("area:")]
    elif is_text(msg):
        areas = []
        for part in msg.text[:500].split(","):
            if not part.strip():
                continue
            area, likely = match_area(ctx, part)
            if not area and likely and not ctx.is_admin:
                # A team member picks among their own communes only: an unsure match to one of
                # them is enough, and an outside one is refused below.
                own = [a for a in likely if a in ctx.user.team_areas]
                area = (own or likely)[0]
            if not area:
                if likely:
                    ctx.data["options"] = likely
                    return Ask("areas")
                return Retry(fmt(_('I could not find the commune "{typed}".'), typed=part[:60]))
            areas.append(area)
        if not areas:
            return Retry(_("Please type the name of a commune."))
    else:
        return Retry(_("Please tap a commune or type its name."))
    if not _may_reach(ctx, areas):
        log.warning("team member %s tried to reach areas %s outside their own", ctx.user.id, areas)
        return Retry(_("Sorry, you can only send notices to the communes of your own team."))
    ctx.data["areas"] = areas
    ctx.data.pop("options", None)
    return Ask("audience")


def _audience(ctx: Ctx) -> Audience:
    return Audience(
        areas=list(ctx.data.get("areas", [])),
        crops=list(ctx.data.get("crops", [])),
        role=str(ctx.data.get("role", "")),
        trained=str(ctx.data.get("trained", "")),
    )


def _audience_choices(ctx: Ctx) -> list[Choice]:
    products = ctx.services.products
    crops = ", ".join(products.name(c) for c in ctx.data.get("crops", [])) or _("any")
    role = _(ROLE_LABELS[str(ctx.data.get("role", ""))])
    choices = [
        Choice("aud:go", _("Continue: see the preview"), ("tiep", "xem truoc", "tiep tuc")),
        Choice(
            "aud:crop", fmt(_("Product: {crops}"), crops=crops), ("san pham", "cay", "nong san")
        ),
        Choice("aud:role", fmt(_("Who: {role}"), role=role), ("ai", "doi tuong", "vai tro")),
    ]
    if ctx.services.broadcasts.can_filter_trained:
        trained = _(TRAINED_LABELS[str(ctx.data.get("trained", ""))])
        choices.append(
            Choice("aud:trained", fmt(_("Training: {t}"), t=trained), ("hoc", "dao tao"))
        )
    return [*choices, _menu_choice()]


def _areas_text(ctx: Ctx, areas: list[str]) -> str:
    if not areas:
        return _("every commune")
    return ", ".join(ctx.services.areas.name(a) for a in areas)


def ask_audience(ctx: Ctx) -> list[Reply]:
    count = len(ctx.services.broadcasts.recipients(_audience(ctx), ctx.user.id))
    text = fmt(
        _(
            "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue."
        ),
        areas=_areas_text(ctx, list(ctx.data.get("areas", []))),
        count=format_number(count),
    )
    return ask_choice(text, _audience_choices(ctx))


def _cycle(value: str, options: tuple[str, ...]) -> str:
    return options[(options.index(value) + 1) % len(options)] if value in options else options[0]


async def answer_audience(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _audience_choices(ctx))
    if choice is None:
        return Retry(_("Please choose from the buttons."))
    if choice.key == "menu":
        return Done([Reply(_("The notice was not sent."))])
    if choice.key == "aud:crop":
        return Ask("crop")
    if choice.key == "aud:role":
        ctx.data["role"] = _cycle(str(ctx.data.get("role", "")), tuple(ROLE_LABELS))
        return Ask("audience")
    if choice.key == "aud:trained":
        ctx.data["trained"] = _cycle(str(ctx.data.get("trained", "")), tuple(TRAINED_LABELS))
        return Ask("audience")
    return Ask("preview")


def _crop_choices() -> list[Choice]:
    return [Choice("crop:any", _("Any product"), ("tat ca", "bat ky", "any"))]


def ask_crop(ctx: Ctx) -> list[Reply]:
    return ask_choice(
        _("Which product do they grow? Type its name (e.g. na, hồng, hồi)."), _crop_choices()
    )


async def answer_crop(ctx: Ctx, msg: Incoming) -> Outcome:
    if match_choice(msg, _crop_choices()) is not None:
        ctx.data["crops"] = []
        return Ask("audience")
    if not is_text(msg):
        return Retry(_("Please type the name of a product."))
    matches = ctx.services.products.match(msg.text[:100])
    if not matches or matches[0].score < 80:
        return Retry(fmt(_('I could not find the product "{typed}".'), typed=msg.text[:60]))
    ctx.data["crops"] = [matches[0].entry.id]
    return Ask("audience")


# --- preview, send, schedule --------------------------------------------------------------


def _preview_choices(count: int) -> list[Choice]:
    send = [Choice("pv:send", _("Send now"), ("gui", "gui ngay", "send"))] if count else []
    return [
        *send,
        *([Choice("pv:later", _("Send later"), ("hen gio", "gui sau", "later"))] if count else []),
        Choice("pv:text", _("Change the message"), ("sua", "viet lai")),
        Choice("pv:who", _("Change who gets it"), ("doi nguoi nhan",)),
        _menu_choice(),
    ]


def ask_preview(ctx: Ctx) -> list[Reply]:
    audience = _audience(ctx)
    count = len(ctx.services.broadcasts.recipients(audience, ctx.user.id))
    shown = render(str(ctx.data.get("text", "")), str(ctx.data.get("photo", "")), preview=True)
    if count:
        text = fmt(
            _("Above is exactly what they will see. It goes to <b>{count}</b> people in {areas}."),
            count=format_number(count),
            areas=_areas_text(ctx, audience.areas),
        )
    else:
        text = _("Nobody matches this audience yet. Change who gets it, or cancel.")
    return [Reply(_("<i>Preview:</i>")), shown, *ask_choice(text, _preview_choices(count))]


async def answer_preview(ctx: Ctx, msg: Incoming) -> Outcome:
    count = len(ctx.services.broadcasts.recipients(_audience(ctx), ctx.user.id))
    choice = match_choice(msg, _preview_choices(count))
    if choice is None:
        return Retry(_("Please choose from the buttons."))
    if choice.key == "menu":
        return Done([Reply(_("The notice was not sent."))])
    if choice.key == "pv:text":
        ctx.data.pop("photo", None)
        return Ask("text")
    if choice.key == "pv:who":
        return _to_areas(ctx)
    if choice.key == "pv:later":
        return Ask("when")
    return _create(ctx, ctx.now)


def _create(ctx: Ctx, due: datetime) -> Outcome:
    """Store the broadcast (once per form) and, when due now, its outbox rows."""
    audience = _audience(ctx)
    if not _allowed(ctx) or not _may_reach(ctx, audience.areas):
        return _refuse(ctx, f"send to {audience.areas}")
    services = ctx.services
    text, photo = str(ctx.data.get("text", "")), str(ctx.data.get("photo", ""))
    broadcast = services.broadcasts.create(
        ctx.user, text, photo, audience, due, ctx.now, ctx.form_id
    )
    stop = [[Button(_("⏹ Stop sending"), f"bc:stop:{broadcast.id}")]]
    if due > ctx.now:
        services.outbox.wake()
        when = format_moment(due.astimezone(VN_TZ))
        said = fmt(_("Notice #{id} will be sent at {when}."), id=broadcast.id, when=when)
        return Done([Reply(said, buttons=stop)])
    total = services.outbox.start(broadcast, ctx.now)
    said = fmt(
        _("Sending notice #{id} to {count} people. I will show the progress here."),
        id=broadcast.id,
        count=format_number(total),
    )
    return Done([Reply(said, buttons=stop)])


def ask_when(ctx: Ctx) -> list[Reply]:
    return ask_choice(
        _(
            "When should it go? Type a time like 18:00, or a day and time like 20/12 07:30 (Vietnam time)."
        ),
        [_menu_choice()],
    )


def parse_when(text: str, now: datetime) -> datetime | None:
    """A typed time ("18:00", "7h30", "20/12 07:30") as the next such moment in Vietnam time."""
    local = now.astimezone(VN_TZ)
    time_match = _TIME.search(text.lower())
    if time_match is None:
        return None
    hour, minute = int(time_match.group(1)), int(time_match.group(2) or 0)
    rest = text[: time_match.start()] + " " + text[time_match.end() :]
    date_match = _DATE.search(rest)
    if hour > 23 or minute > 59:
        return None
    try:
        if date_match:
            day, month = int(date_match.group(1)), int(date_match.group(2))
            year = int(date_match.group(3) or local.year)
            moment = local.replace(year=year, month=month, day=day, hour=hour, minute=minute)
            if moment < local and not date_match.group(3):
                moment = moment.replace(year=year + 1)
        else:
            moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if moment <= local:
                moment += timedelta(days=1)
    except ValueError:
        return None
    return moment.replace(second=0, microsecond=0)


async def answer_when(ctx: Ctx, msg: Incoming) -> Outcome:
    if match_choice(msg, [_menu_choice()]) is not None:
        return Done([Reply(_("The notice was not sent."))])
    moment = parse_when(msg.text, ctx.now) if is_text(msg) else None
    if moment is None:
        return Retry(_("Please type a time like 18:00, or 20/12 07:30."))
    if moment <= ctx.now or moment > ctx.now + timedelta(days=SCHEDULE_MAX_DAYS):
        return Retry(fmt(_("Please choose a time within the next {n} days."), n=SCHEDULE_MAX_DAYS))
    return _create(ctx, moment)


# --- recipients' opt-out/in, the author's stop button -------------------------------------


def _set_consent(ctx: Ctx, consent: bool) -> None:
    if ctx.user.consent != consent:
        ctx.user.consent = consent
        ctx.services.users.save(ctx.user)  # read by the outbox right before each send
        log.info("user %s turned notices %s", ctx.user.id, "on" if consent else "off")


def _off_reply() -> Reply:
    text = _(
        "Done: you will not receive notices from the digital-tech team any more. To get them again: /batthongbao"
    )
    return Reply(text, buttons=[[Button(_("🔔 Get notices again"), "bc:on")]])


def _on_reply() -> Reply:
    text = _(
        "Done: you will receive notices from the digital-tech team again. To stop: /tatthongbao"
    )
    return Reply(text)


def enter_off(ctx: Ctx) -> list[Reply]:
    _set_consent(ctx, False)
    return []


def ask_off(ctx: Ctx) -> list[Reply]:
    return [_off_reply()]


def enter_on(ctx: Ctx) -> list[Reply]:
    _set_consent(ctx, True)
    return []


def ask_on(ctx: Ctx) -> list[Reply]:
    return [_on_reply(), Reply(_("Type /menu for the main menu."))]


async def answer_done(ctx: Ctx, msg: Incoming) -> Outcome:
    return Done()


async def on_button(ctx: Ctx, msg: Incoming, rest: list[str]) -> Outcome:
    """Buttons under notices ("off", "on", "pv") and under the progress ("stop:<id>")."""
    action = rest[0] if rest else ""
    conv = ctx.services.conversations.get(ctx.user.id)
    if action in ("off", "on") and conv.flow == "broadcast" and conv.state in ("off", "on"):
        # Standing at /tatthongbao or /batthongbao: arrive at the other one (which sets the
        # consent), or the old question asked again would contradict the button.
        return Start("broadcast", action)
    if action == "off":
        _set_consent(ctx, False)
        return Done([_off_reply()], show_menu=False)
    if action == "on":
        _set_consent(ctx, True)
        return Done([_on_reply()], show_menu=False)
    if action == "pv":
        return Stay(
            [
                Reply(
                    _(
                        "This is the preview: for the people who receive it, this button stops notices."
                    )
                )
            ]
        )
    if action == "stop" and len(rest) == 2 and rest[1].isdigit():
        return _stop(ctx, int(rest[1]))
    log.warning("user %s pressed an unknown broadcast button %s", ctx.user.id, msg.payload)
    return Done([Reply(_("That button is no longer valid."))], show_menu=False)


def _stop(ctx: Ctx, broadcast_id: int) -> Outcome:
    found = ctx.services.broadcasts.get(broadcast_id)
    if found is None or (found.author_id != ctx.user.id and not ctx.is_admin):
        log.warning("user %s tried to stop broadcast %s; refused", ctx.user.id, broadcast_id)
        return Done(
            [Reply(_("Sorry, only its author or an administrator can stop this notice."))],
            show_menu=False,
        )
    if not ctx.services.outbox.cancel(broadcast_id, ctx.now):
        return Done([Reply(_("This notice has already finished."))], show_menu=False)
    log.info("user %s stopped broadcast %s", ctx.user.id, broadcast_id)
    said = fmt(_("Notice #{id} is stopped: nobody else will receive it."), id=broadcast_id)
    return Done([Reply(said)], show_menu=False)


def build() -> Flow:
    """The broadcast flow."""
    return Flow(
        name="broadcast",
        first="text",
        states={
            "text": State(ask_text, answer_text, to=("photo", "areas", "audience"), photo=True),
            "photo": State(ask_photo, answer_photo, to=("areas", "audience"), photo=True),
            "areas": State(ask_areas, answer_areas, to=("audience",)),
            "audience": State(ask_audience, answer_audience, to=("crop", "preview")),
            "crop": State(ask_crop, answer_crop, to=("audience",)),
            "preview": State(
                ask_preview, answer_preview, to=("areas", "audience", "text", "when")
            ),
            "when": State(ask_when, answer_when),
            "off": State(ask_off, answer_done, enter=enter_off),
            "on": State(ask_on, answer_done, enter=enter_on),
        },
        commands={
            "thongbao": "text",
            "broadcast": "text",
            "tatthongbao": "off",
            "batthongbao": "on",
        },
        menu=MenuEntry(
            "broadcast",
            N_("Send a notice"),
            80,
            visible=_allowed,
            words=("thong bao", "gui thong bao"),
        ),
        actions={"bc": on_button},
        leads_to=("off", "on"),
    )
