"""Profile: see and edit what the bot knows about you, switch language, delete your data."""

from __future__ import annotations

from bot.address import TERMS
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
    ask_choice,
    match_choice,
)
from bot.core.fmt import esc, fmt
from bot.core.types import Incoming, Reply
from bot.i18n import N_, _, set_locale
from bot.services.users import FARMER
from bot.text import display_phone

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
# Profile fields a user can edit, and the onboarding question that edits each.
FIELDS = {
    "name": N_("Name"),
    "address": N_("How I call you"),
    "phone": N_("Phone"),
    "area": N_("Commune / ward"),
    "role": N_("Selling or buying"),
    "crops": N_("Products"),
    "consent": N_("Guidance messages"),
}


def profile_card(ctx: Ctx) -> str:
    """What the bot stores about the user, as a short card."""
    user = ctx.services.users
    u = ctx.user
    role = _("Seller (farmer)") if u.role == FARMER else _("Buyer")
    lines = [
        _("<b>Your profile</b>"),
        f"{_(FIELDS['name'])}: {esc(u.name)}",
        f"{_(FIELDS['address'])}: {esc(TERMS.get(u.address, '—'))}",
        f"{_(FIELDS['phone'])}: {esc(display_phone(u.phone)) if u.phone else '—'}",
        f"{_(FIELDS['area'])}: {esc(ctx.services.areas.name(u.area)) or '—'}",
        f"{_(FIELDS['role'])}: {role}",
    ]
    if u.role == FARMER:
        crops = ", ".join(ctx.services.products.name(c) for c in u.crops) or "—"
        lines.append(f"{_(FIELDS['crops'])}: {esc(crops)}")
    consent = _("yes") if u.consent else _("no")
    lines.append(f"{_(FIELDS['consent'])}: {consent}")
    language = _("Language")
    lines.append(f"{language}: {LANGUAGES.get(u.lang, u.lang)}")
    if user.is_admin(u):
        lines.append(_("Role: administrator"))
    if user.is_team(u):
        areas = ", ".join(ctx.services.areas.name(a) for a in u.team_areas)
        lines.append(fmt(_("Role: digital-tech team of {areas}"), areas=areas))
    lines.extend(line for hook in ctx.services.profile_lines for line in hook(ctx.user))
    return "\n".join(lines)


def _view_choices(ctx: Ctx) -> list[Choice]:
    edits = [
        Choice(f"edit:{key}", fmt(_("Change: {field}"), field=_(label)))
        for key, label in FIELDS.items()
        if key != "crops" or ctx.user.role == FARMER
    ]
    return [
        *edits,
        Choice("lang", _("Language"), ("ngon ngu", "language", "tieng anh", "english")),
        Choice("delete", _("Delete my data"), ("xoa du lieu", "xoa")),
        Choice("back", _("Back to menu"), ("quay lai", "tro ve", "back")),
    ]


def ask_view(ctx: Ctx) -> list[Reply]:
    return ask_choice(profile_card(ctx), _view_choices(ctx), columns=2)


async def answer_view(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _view_choices(ctx))
    if choice is None:
        return Retry(_("Please choose what to change."))
    if choice.key == "back":
        return Done()
    if choice.key == "lang":
        return Ask("language")
    if choice.key == "delete":
        return Ask("delete")
    return Start("onboarding", choice.key.removeprefix("edit:"), {"edit": True})


def _language_choices() -> list[Choice]:
    return [
        Choice("lang:vi", LANGUAGES["vi"], ("tieng viet", "viet", "vi")),
        Choice("lang:en", LANGUAGES["en"], ("tieng anh", "anh", "en")),
    ]


def ask_language(ctx: Ctx) -> list[Reply]:
    return ask_choice(_("Choose your language:"), _language_choices())


async def answer_language(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _language_choices())
    if choice is None:
        return Retry(_("Please choose a language."))
    ctx.user.lang = choice.key.removeprefix("lang:")
    ctx.services.users.save(ctx.user)
    set_locale(ctx.user.lang)
    return Done([Reply(_("Language changed."))])


def _delete_choices() -> list[Choice]:
    return [
        Choice("del:yes", _("Yes, delete everything"), ("co", "xoa", "dong y", "yes")),
        Choice("del:no", _("No, keep my data"), ("khong", "giu", "no", "ko")),
    ]


def ask_delete(ctx: Ctx) -> list[Reply]:
    return ask_choice(
        _(
            "This deletes your profile and everything you stored with the bot (listings, lesson progress, questions). It cannot be undone. Delete?"
        ),
        _delete_choices(),
    )


async def answer_delete(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _delete_choices())
    if choice is None:
        return Retry(_("Please choose 1 (delete) or 2 (keep)."))
    if choice.key == "del:no":
        return Done([Reply(_("Nothing was deleted."))])
    ctx.services.delete_user(ctx.user)
    return Done(
        [Reply(_("Your data has been deleted. Type /start if you want to begin again."))],
        show_menu=False,
    )


def build() -> Flow:
    """The profile flow."""
    return Flow(
        name="profile",
        first="view",
        states={
            "view": State(
                ask_view,
                answer_view,
                to=("delete", "language", *(f"onboarding/{key}" for key in FIELDS)),
            ),
            "language": State(ask_language, answer_language),
            "delete": State(ask_delete, answer_delete),
        },
        commands={
            "hoso": "view",
            "profile": "view",
            "ngonngu": "language",
            "language": "language",
            "xoadulieu": "delete",
        },
        menu=MenuEntry(
            "profile", N_("👤 My profile"), 90, words=("ho so", "thong tin", "profile")
        ),
    )
