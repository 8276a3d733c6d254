"""Onboarding: name, phone, area, role, crops, consent — one question per message.

The same questions edit a single profile field when started with data {"edit": True}.
"""

from __future__ import annotations

from bot.address import TERMS, address_of, given_name, suggest_term
from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Flow,
    Outcome,
    Retry,
    Start,
    State,
    ask_choice,
    choice_buttons,
    is_text,
    match_choice,
)
from bot.core.fmt import esc, fmt, label
from bot.core.types import Button, Incoming, Reply
from bot.i18n import _, set_addressee
from bot.services.users import BUYER, FARMER
from bot.text import clean, display_phone, fold, normalize_phone
from handlers import linking

NAME_MAX = 64
CROP_MAX = 10
CROP_NAME_MAX = 40
AREA_SURE = 90.0
AREA_MAYBE = 60.0


def _next(ctx: Ctx, state: str) -> Outcome:
    """After a field: the next question, or back to the profile when editing one field."""
    if ctx.data.get("edit"):
        ctx.services.users.save(ctx.user)
        return Start("profile", say=[Reply(_("Saved."))])
    return Ask(state)


# --- name ---------------------------------------------------------------------------------


def enter_name(ctx: Ctx) -> list[Reply]:
    if ctx.data.get("edit"):
        return []
    return [
        Reply(
            _(
                "Dạ, xin chào! I am <b>Nông Dân Số</b>, the digital assistant of Lạng Sơn's "
                "community digital-tech teams. I help you put your produce on sale, handle "
                "orders, learn to sell online safely, and answer your questions.\n\n"
                "First, a few short questions so I can help you better."
            )
        )
    ]


def ask_name(ctx: Ctx) -> list[Reply]:
    replies = []
    question = _("What is your name?")
    buttons = []
    if ctx.user.name:
        question += "\n" + fmt(
            _("Tap the button to use <b>{name}</b>, or type another name."), name=ctx.user.name
        )
        buttons = [[Button(label(_("Use: {name}"), name=ctx.user.name)[:60], "name:keep")]]
    replies.append(Reply(question, buttons=buttons))
    return replies


async def answer_name(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "button" and msg.payload == "name:keep" and ctx.user.name:
        return _after_name(ctx)
    if not is_text(msg):
        return Retry(_("Please type your name in letters."))
    name = clean(msg.text)
    if not name:
        return Retry(_("Please type your name in letters."))
    if len(name) > NAME_MAX:
        return Retry(
            fmt(_("That is too long for a name (at most {max} characters)."), max=NAME_MAX)
        )
    ctx.user.name = name
    ctx.services.users.save(ctx.user)
    set_addressee(address_of(ctx.user))
    return _after_name(ctx)


def _after_name(ctx: Ctx) -> Outcome:
    """Ask how to address the person, unless they are only editing their name."""
    if ctx.data.get("edit") and ctx.user.address:
        return _next(ctx, "")
    return Ask("address")


# --- form of address ----------------------------------------------------------------------


def _address_choices(ctx: Ctx) -> list[Choice]:
    """The terms, the one the name suggests first, each shown with the given name."""
    first = suggest_term(ctx.user.name)
    keys = sorted(TERMS, key=lambda k: k != first)  # stable: the rest keep their order
    given = given_name(ctx.user.name)
    return [
        Choice(f"addr:{k}", " ".join(w for w in (TERMS[k].capitalize(), given) if w), (k,))
        for k in keys
    ]


def ask_address(ctx: Ctx) -> list[Reply]:
    text = fmt(
        _("How would you like me to call you, {name}? You can change it later in your profile."),
        name=given_name(ctx.user.name) or ctx.user.name,
    )
    if ctx.data.get("once"):
        text = _("Before we go on, one short question.") + "\n" + text
    return ask_choice(text, _address_choices(ctx), columns=2)


async def answer_address(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _address_choices(ctx))
    if choice is None:
        return Retry(_("Please tap one of the buttons, or type its number."))
    ctx.user.address = choice.key.removeprefix("addr:")
    ctx.services.users.save(ctx.user)
    set_addressee(address_of(ctx.user))
    if ctx.data.get("once"):
        return Done([Reply(_("Thank you! I will call you that from now on."))])
    if ctx.data.get("edit"):
        return _next(ctx, "")
    return Ask("phone")


# --- phone --------------------------------------------------------------------------------


def ask_phone(ctx: Ctx) -> list[Reply]:
    if ctx.msg.channel != "telegram":  # only Telegram has a "share my phone" button
        return [
            Reply(
                _(
                    "What is your phone number? Buyers and the team use it to reach you.\n"
                    "Please type it, e.g. 0912 345 678."
                )
            )
        ]
    return [
        Reply(
            _(
                "What is your phone number? Buyers and the team use it to reach you.\n"
                "Tap <b>Share my phone number</b> below, or type it (e.g. 0912 345 678)."
            ),
            request_contact=_("📱 Share my phone number"),
        )
    ]


async def answer_phone(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "contact" and not msg.phone:
        return Retry(_("Please share your own phone number, not someone else's."))
    raw = msg.phone if msg.kind == "contact" else msg.text if msg.kind == "text" else ""
    if not raw:
        return Retry(_("Please type your phone number, e.g. 0912 345 678."))
    phone = normalize_phone(raw)
    if phone is None:
        return Retry(
            _(
                "That does not look like a Vietnamese mobile number. Please type 10 digits, e.g. 0912 345 678."
            )
        )
    ctx.user.phone = phone
    ctx.services.users.save(ctx.user)
    if not ctx.data.get("edit") and (link := linking.offer(ctx)) is not None:
        return link  # the number is registered from another app: offer to link them
    return _next(ctx, "area")


# --- area ---------------------------------------------------------------------------------


def ask_area(ctx: Ctx) -> list[Reply]:
    return [
        Reply(_("Which commune or ward do you live in? Type its name, e.g. Chi Lăng or chi lang."))
    ]


async def answer_area(ctx: Ctx, msg: Incoming) -> Outcome:
    if not is_text(msg):
        return Retry(_("Please type the name of your commune or ward."))
    matches = ctx.services.areas.match(msg.text[:200])
    if (
        matches
        and matches[0].score >= AREA_SURE
        and (len(matches) == 1 or matches[0].score - matches[1].score >= 8)
    ):
        ctx.user.area = matches[0].entry.id
        ctx.services.users.save(ctx.user)
        return _next(ctx, "role")
    likely = [m.entry.id for m in matches if m.score >= AREA_MAYBE]
    if not likely:
        return Retry(
            fmt(
                _(
                    'I could not find the commune "{typed}" in Lạng Sơn. Please check the name and type it again.'
                ),
                typed=msg.text[:60],
            )
        )
    ctx.data["area_options"] = likely
    return Ask("area_pick")


def _area_choices(ctx: Ctx) -> list[Choice]:
    options = [
        Choice(f"area:{i}", ctx.services.areas.name(i)) for i in ctx.data.get("area_options", [])
    ]
    return [
        *options,
        Choice("area:retype", _("None of these — type again"), ("khong phai", "go lai")),
    ]


def ask_area_pick(ctx: Ctx) -> list[Reply]:
    return ask_choice(_("Did you mean one of these?"), _area_choices(ctx))


async def answer_area_pick(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _area_choices(ctx))
    if choice is None:
        if is_text(msg) and msg.kind == "text" and not fold(msg.text).isdigit():
            return await answer_area(ctx, msg)  # they typed a new name instead of picking
        return Retry(_("Please pick one of the communes below."))
    if choice.key == "area:retype":
        return Ask("area")
    ctx.user.area = choice.key.removeprefix("area:")
    ctx.services.users.save(ctx.user)
    return _next(ctx, "role")


# --- role ---------------------------------------------------------------------------------


def _role_choices() -> list[Choice]:
    return [
        Choice(
            FARMER,
            _("I grow or make products to sell"),
            ("nong dan", "nguoi ban", "ban", "farmer"),
        ),
        Choice(BUYER, _("I want to buy"), ("nguoi mua", "mua", "khach", "buyer")),
    ]


def ask_role(ctx: Ctx) -> list[Reply]:
    return ask_choice(_("Are you selling or buying?"), _role_choices())


async def answer_role(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _role_choices())
    if choice is None:
        return Retry(_("Please choose 1 (selling) or 2 (buying)."))
    ctx.user.role = choice.key
    ctx.services.users.save(ctx.user)
    if choice.key == FARMER:
        return _next(ctx, "crops")
    return _next(ctx, "consent")


# --- crops --------------------------------------------------------------------------------


def _crop_choices(ctx: Ctx) -> list[Choice]:
    chosen = set(ctx.user.crops)
    choices = [
        Choice(f"crop:{p.id}", ("✅ " if p.id in chosen else "") + p.name)
        for p in ctx.services.products.entries[:12]
    ]
    return [*choices, Choice("crop:done", _("Done"), ("xong", "done", "ok", "het"))]


def ask_crops(ctx: Ctx) -> list[Reply]:
    chosen = ", ".join(esc(ctx.services.products.name(c)) for c in ctx.user.crops)
    text = _(
        "What do you grow or make? Tap each one (tap again to remove), or type names separated by commas. Tap <b>Done</b> when finished."
    )
    if chosen:
        text += "\n" + _("Chosen so far:") + f" {chosen}"
    return [Reply(text, buttons=choice_buttons(_crop_choices(ctx), columns=2))]


async def answer_crops(ctx: Ctx, msg: Incoming) -> Outcome:
    choices = _crop_choices(ctx)
    choice = match_choice(msg, choices)
    if choice is None and msg.kind == "button":
        return Retry(_("Please tap one of the products below, or Done."))
    if choice is not None and choice.key == "crop:done":
        if not ctx.user.crops:
            return Retry(_("Please choose or type at least one product."))
        return _next(ctx, "consent")
    toast = ""
    if choice is not None:
        crop = choice.key.removeprefix("crop:")
        name = ctx.services.products.name(crop)
        if crop in ctx.user.crops:
            ctx.user.crops.remove(crop)
            toast = label(_("Removed: {name}"), name=name)
        else:
            ctx.user.crops.append(crop)
            toast = label(_("Chosen: {name}"), name=name)
    elif is_text(msg):
        for part in msg.text.split(","):
            name = clean(part)[:CROP_NAME_MAX]
            if not name:
                continue
            known = ctx.services.products.exact(name)
            matches = [] if known else ctx.services.products.match(name, limit=1)
            crop = (
                known.id
                if known
                else matches[0].entry.id
                if matches and matches[0].score >= 90
                else name
            )
            if crop not in ctx.user.crops:
                ctx.user.crops.append(crop)
    else:
        return Retry(_("Please tap a product or type its name."))
    if len(ctx.user.crops) > CROP_MAX:
        ctx.user.crops = ctx.user.crops[:CROP_MAX]
    ctx.services.users.save(ctx.user)
    return Ask("crops", toast=toast, redraw=True)


# --- consent ------------------------------------------------------------------------------


def _consent_choices() -> list[Choice]:
    return [
        Choice("consent:yes", _("Yes, send me guidance"), ("co", "dong y", "yes", "ok", "u")),
        Choice("consent:no", _("No, thank you"), ("khong", "no", "ko", "k")),
    ]


def ask_consent(ctx: Ctx) -> list[Reply]:
    return ask_choice(
        _(
            "The commune's digital-tech team sometimes sends useful guidance (selling tips, scam warnings, training days). Would you like to receive it? You can change this any time."
        ),
        _consent_choices(),
    )


async def answer_consent(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _consent_choices())
    if choice is None:
        return Retry(_("Please choose 1 (yes) or 2 (no)."))
    ctx.user.consent = choice.key == "consent:yes"
    if ctx.data.get("edit"):
        return _next(ctx, "")
    ctx.user.registered = True
    ctx.services.users.save(ctx.user)
    done = fmt(
        _(
            "Thank you, {You_name}! You are registered in {area} with the number {phone}. Here is what I can do:"
        ),
        area=ctx.services.areas.name(ctx.user.area),
        phone=display_phone(ctx.user.phone),
    )
    return Done([Reply(done)])


def build() -> Flow:
    """The onboarding flow (also used to edit one profile field)."""
    return Flow(
        name="onboarding",
        first="name",
        states={
            "name": State(ask_name, answer_name, to=("address", "profile/"), enter=enter_name),
            "address": State(ask_address, answer_address, to=("phone", "profile/")),
            "phone": State(ask_phone, answer_phone, to=("area", "link_offer", "profile/")),
            "area": State(ask_area, answer_area, to=("area_pick", "role", "profile/")),
            "area_pick": State(ask_area_pick, answer_area_pick, to=("area", "role", "profile/")),
            "role": State(ask_role, answer_role, to=("crops", "consent", "profile/")),
            "crops": State(ask_crops, answer_crops, to=("consent", "profile/")),
            "consent": State(ask_consent, answer_consent, to=("profile/",)),
            **linking.states(),
        },
    )
