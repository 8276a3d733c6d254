"""Roles: `/ma <code>` joins an area's digital-tech team; admins list, grant and revoke roles
and make invite codes (`/quyen`)."""

from __future__ import annotations

import logging
from datetime import datetime

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
    ask_choice,
    choice_buttons,
    is_text,
    match_choice,
)
from bot.core.fmt import esc, fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, VN_TZ, _, format_moment
from bot.services.roles import InviteError
from bot.services.users import ADMIN, TEAM, User
from bot.text import clean, display_phone, fold, normalize_phone

log = logging.getLogger(__name__)

AREA_SURE = 90.0
AREA_MAYBE = 60.0
HOLDERS_SHOWN = 30
MENU = Choice("menu", N_("Back to menu"), ("quay lai", "tro ve", "ve menu", "menu"))

INVITE_ERRORS = {
    "unknown": N_("Sorry, I do not know the code {code}. Please check it and type it again."),
    "expired": N_(
        "Sorry, the code {code} has expired. Please ask an administrator for a new one."
    ),
    "used": N_("Sorry, the code {code} has already been used. Each code works once."),
}


def _menu() -> Choice:
    return Choice(MENU.key, _(MENU.label), MENU.words)


def match_area(ctx: Ctx, text: str) -> tuple[str, list[str]]:
    """(the area meant, "") when sure, else ("", likely candidates) for the user to pick."""
    matches = ctx.services.areas.match(text[:200])
    if (
        matches
        and matches[0].score >= AREA_SURE
        and (len(matches) == 1 or matches[0].score - matches[1].score >= 8)
    ):
        return matches[0].entry.id, []
    return "", [m.entry.id for m in matches if m.score >= AREA_MAYBE]


def _refuse(ctx: Ctx) -> Outcome:
    log.warning("user %s (not admin) tried to manage roles; refused", ctx.user.id)
    return Done([Reply(_("Sorry, only administrators can manage roles."))])


# --- /ma <code> ---------------------------------------------------------------------------


def _redeem(ctx: Ctx, code: str) -> Reply | None:
    """Redeem a code; the success message, or None after storing the error for the question."""
    try:
        area = ctx.services.roles.redeem(code[:64], ctx.user, ctx.now)
    except InviteError as exc:
        ctx.data["error"] = fmt(_(INVITE_ERRORS[exc.reason]), code=code[:64])
        return None
    ctx.data["joined"] = area
    return Reply(
        fmt(
            _(
                "Welcome to the digital-tech team of {area}! You can now send notices to the "
                "people of your commune (/thongbao) and answer their questions (/cauhoi)."
            ),
            area=ctx.services.areas.name(area),
        ),
        buttons=[[Button(_("Main menu"), "sys:menu")]],
    )


def ask_redeem(ctx: Ctx) -> list[Reply]:
    typed = str(ctx.data.pop("args", "") or "").strip()
    if typed:  # "/ma TCN-..." in one message; redeeming again is harmless (same user)
        done = _redeem(ctx, typed)
        if done is not None:
            return [done]
    if ctx.data.get("joined"):
        return [
            Reply(_("You are in the team now."), buttons=[[Button(_("Main menu"), "sys:menu")]])
        ]
    error = str(ctx.data.pop("error", ""))
    question = _("Please type your invite code, for example TCN-CHILANG-7KQ2.")
    return [Reply(f"{error}\n{question}" if error else question)]


async def answer_redeem(ctx: Ctx, msg: Incoming) -> Outcome:
    if ctx.data.get("joined"):
        return Done()
    if not is_text(msg):
        return Retry(_("Please type your invite code, for example TCN-CHILANG-7KQ2."))
    done = _redeem(ctx, clean(msg.text))
    if done is None:
        return Retry(str(ctx.data.pop("error")))
    return Done([done])


# --- /quyen: the admin's role list --------------------------------------------------------


def _describe(ctx: Ctx, user: User) -> str:
    parts = []
    if ADMIN in user.roles:
        parts.append(_("admin"))
    if TEAM in user.roles:
        areas = ", ".join(ctx.services.areas.name(a) for a in user.team_areas) or "—"
        parts.append(fmt(_("team: {areas}"), areas=areas))
    phone = display_phone(user.phone) if user.phone else ""
    who = fmt("#{id} {name} {phone}", id=user.id, name=user.name, phone=phone).strip()
    return f"{who} — {'; '.join(parts)}"


def _home_choices() -> list[Choice]:
    return [
        Choice("invite", _("Make an invite code for a commune"), ("ma moi", "tao ma", "invite")),
        Choice("grant", _("Grant a role"), ("cap quyen", "them", "grant")),
        Choice("revoke", _("Revoke a role"), ("thu hoi", "bo quyen", "xoa quyen", "revoke")),
        _menu(),
    ]


def ask_home(ctx: Ctx) -> list[Reply]:
    if not ctx.is_admin:
        return [Reply(_("Sorry, only administrators can manage roles."))]
    holders = ctx.services.roles.holders()
    lines = [_("<b>Roles</b>")]
    lines += [_describe(ctx, u) for u in holders[:HOLDERS_SHOWN]] or [_("Nobody has a role yet.")]
    if len(holders) > HOLDERS_SHOWN:
        lines.append(fmt(_("…and {n} more."), n=len(holders) - HOLDERS_SHOWN))
    return ask_choice("\n".join(lines), _home_choices())


async def answer_home(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return _refuse(ctx)
    choice = match_choice(msg, _home_choices())
    if choice is None:
        return Retry(_("Please choose what to do."))
    if choice.key == "menu":
        return Done()
    if choice.key == "invite":
        ctx.data.update(purpose="invite", options=[])
        return Ask("area")
    if choice.key == "grant":
        return Ask("grant_who")
    return Ask("revoke_who")


# --- picking an area (for an invite code or a team grant) ---------------------------------


def _area_choices(ctx: Ctx) -> list[Choice]:
    options = [
        Choice(f"area:{a}", ctx.services.areas.name(a)) for a in ctx.data.get("options", [])
    ]
    return [*options, _menu()]


def ask_area(ctx: Ctx) -> list[Reply]:
    if ctx.data.get("options"):
        text = _("Did you mean one of these? Tap it or type the name again.")
        return [Reply(text, buttons=choice_buttons(_area_choices(ctx)))]
    return [Reply(_("Which commune or ward? Type its name."))]


async def answer_area(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return _refuse(ctx)
    choice = match_choice(msg, _area_choices(ctx))
    if choice is not None and choice.key == "menu":
        return Done()
    if choice is not None:
        area = choice.key.removeprefix("area:")
    elif is_text(msg):
        area, likely = match_area(ctx, msg.text)
        if not area and not likely:
            return Retry(fmt(_('I could not find the commune "{typed}".'), typed=msg.text[:60]))
        if not area:
            ctx.data["options"] = likely
            return Ask("area")
    else:
        return Retry(_("Please type the name of the commune."))
    name = ctx.services.areas.name(area)
    if ctx.data.get("purpose") == "grant":
        target = ctx.services.users.get(int(ctx.data.get("target", 0)))
        if target is None:
            return Done([Reply(_("That user no longer exists."))])
        ctx.services.roles.grant(target, TEAM, area)
        log.info("admin %s made user %s a team member of %s", ctx.user.id, target.id, area)
        text = fmt(
            _("{name} is now in the digital-tech team of {area}."), name=target.name, area=name
        )
        return Done([Reply(text)])
    invite = ctx.services.roles.make_invite(area, ctx.user, ctx.now)
    text = fmt(
        _(
            "Invite code for the team of {area}: <code>{code}</code>\n"
            "It works once, until {until}. The new member sends: /ma {code}"
        ),
        area=name,
        code=invite.code,
        until=format_moment(datetime.fromisoformat(invite.expires_at).astimezone(VN_TZ)),
    )
    return Done([Reply(text)])


# --- grant --------------------------------------------------------------------------------


def _find_user(ctx: Ctx, text: str) -> User | None:
    typed = text.strip().lstrip("#")
    if typed.isdigit() and len(typed) < 9:
        return ctx.services.users.get(int(typed))
    phone = normalize_phone(text)
    found = ctx.services.users.by_phone(phone) if phone else []
    return found[0] if found else None


def ask_grant_who(ctx: Ctx) -> list[Reply]:
    return [Reply(_("Who? Type their phone number, or their number from the list (like #12)."))]


async def answer_grant_who(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return _refuse(ctx)
    if not is_text(msg):
        return Retry(_("Please type a phone number or a user number."))
    target = _find_user(ctx, msg.text)
    if target is None or not target.registered:
        return Retry(fmt(_("I found nobody registered as {typed}."), typed=msg.text[:40]))
    ctx.data["target"] = target.id
    return Ask("grant_role")


def _role_choices() -> list[Choice]:
    return [
        Choice("role:team", _("Digital-tech team member of a commune"), ("to", "doi", "team")),
        Choice("role:admin", _("Administrator"), ("quan tri", "admin")),
        _menu(),
    ]


def ask_grant_role(ctx: Ctx) -> list[Reply]:
    target = ctx.services.users.get(int(ctx.data.get("target", 0)))
    name = target.name if target else "?"
    return ask_choice(fmt(_("Which role for {name}?"), name=name), _role_choices())


async def answer_grant_role(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return _refuse(ctx)
    choice = match_choice(msg, _role_choices())
    if choice is None:
        return Retry(_("Please choose a role."))
    if choice.key == "menu":
        return Done()
    if choice.key == "role:team":
        ctx.data.update(purpose="grant", options=[])
        return Ask("area")
    target = ctx.services.users.get(int(ctx.data.get("target", 0)))
    if target is None:
        return Done([Reply(_("That user no longer exists."))])
    ctx.services.roles.grant(target, ADMIN)
    log.info("admin %s made user %s an admin", ctx.user.id, target.id)
    return Done([Reply(fmt(_("{name} is now an administrator."), name=target.name))])


# --- revoke -------------------------------------------------------------------------------


def _holder_choices(ctx: Ctx) -> list[Choice]:
    holders = ctx.services.roles.holders()[:HOLDERS_SHOWN]
    return [*(Choice(f"who:{u.id}", f"#{u.id} {u.name}") for u in holders), _menu()]


def ask_revoke_who(ctx: Ctx) -> list[Reply]:
    return ask_choice(_("Whose role do you want to revoke?"), _holder_choices(ctx))


async def answer_revoke_who(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return _refuse(ctx)
    choice = match_choice(msg, _holder_choices(ctx))
    if choice is None:
        return Retry(_("Please pick a person from the list."))
    if choice.key == "menu":
        return Done()
    ctx.data["target"] = int(choice.key.removeprefix("who:"))
    return Ask("revoke_what")


def _grant_choices(ctx: Ctx) -> list[Choice]:
    target = ctx.services.users.get(int(ctx.data.get("target", 0)))
    if target is None:
        return [_menu()]
    found = [Choice("rv:admin", _("Administrator"), ("admin",))] if ADMIN in target.roles else []
    for area in target.team_areas if TEAM in target.roles else []:
        label = _("Team of {area}").format(area=ctx.services.areas.name(area))  # plain text
        found.append(Choice(f"rv:team:{area}", label, (fold(ctx.services.areas.name(area)),)))
    return [*found, _menu()]


def ask_revoke_what(ctx: Ctx) -> list[Reply]:
    return ask_choice(_("Which role do you want to take away?"), _grant_choices(ctx))


async def answer_revoke_what(ctx: Ctx, msg: Incoming) -> Outcome:
    if not ctx.is_admin:
        return _refuse(ctx)
    choice = match_choice(msg, _grant_choices(ctx))
    if choice is None:
        return Retry(_("Please pick a role from the list."))
    target = ctx.services.users.get(int(ctx.data.get("target", 0)))
    if choice.key == "menu" or target is None:
        return Done()
    if choice.key == "rv:admin":
        ctx.services.roles.revoke(target, ADMIN)
    else:
        ctx.services.roles.revoke(target, TEAM, choice.key.removeprefix("rv:team:"))
    log.info("admin %s revoked %s from user %s", ctx.user.id, choice.key, target.id)
    text = _("Done: {name} — {role} removed.").format(name=esc(target.name), role=choice.label)
    return Done([Reply(text)])


def build() -> Flow:
    """The roles flow."""
    return Flow(
        name="roles",
        first="home",
        states={
            "home": State(ask_home, answer_home, to=("area", "grant_who", "revoke_who")),
            "redeem": State(ask_redeem, answer_redeem),
            "area": State(ask_area, answer_area),
            "grant_who": State(ask_grant_who, answer_grant_who, to=("grant_role",)),
            "grant_role": State(ask_grant_role, answer_grant_role, to=("area",)),
            "revoke_who": State(ask_revoke_who, answer_revoke_who, to=("revoke_what",)),
            "revoke_what": State(ask_revoke_what, answer_revoke_what),
        },
        commands={"ma": "redeem", "quyen": "home", "roles": "home"},
        menu=MenuEntry(
            "roles",
            N_("Roles and invite codes"),
            95,
            visible=lambda ctx: ctx.is_admin,
            words=("quyen", "phan quyen", "ma moi"),
        ),
    )
