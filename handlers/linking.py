"""Onboarding's detour when the phone number is already registered from another app.

The person may link this app to that account: a code goes to the other app and is typed
here. These states are part of the onboarding flow (an unregistered user stays in it);
declining, or any dead end, goes on with registration at the area question.
"""

from __future__ import annotations

from bot.core.flow import Ask, Choice, Ctx, Done, Outcome, Retry, State, ask_choice, match_choice
from bot.core.fmt import fmt
from bot.core.types import Incoming, Reply
from bot.i18n import N_, _
from bot.services.linking import CODE_DIGITS, CODE_TTL, Check, LinkService
from bot.services.users import User
from bot.text import display_phone

NEXT_STATE = "area"  # the onboarding question after the phone number
APPS = {"telegram": "Telegram", "zalo_oa": "Zalo", "zalo_bot": "Zalo Bot", "web": N_("web chat")}


def _service(ctx: Ctx) -> LinkService:
    return ctx.services.linking


def _target(ctx: Ctx) -> User | None:
    target = ctx.services.users.get(int(ctx.data.get("link_target") or 0))
    return target if target is not None and target.registered else None


def _app(ctx: Ctx, user: User) -> str:
    routes = ctx.services.notifier.routes(user)
    return _app_name(routes[0][0] if routes else user.last_channel.partition(":")[0])


def _app_name(channel: str) -> str:
    return _(APPS[channel]) if channel in APPS else channel


def offer(ctx: Ctx) -> Outcome | None:
    """Ask to link when the phone just given belongs to an account from another app."""
    target = _service(ctx).candidate(ctx.user, ctx.user.phone)
    if target is None:
        return None
    ctx.data["link_target"] = target.id
    return Ask("link_offer")


# --- offer --------------------------------------------------------------------------------


def _offer_choices() -> list[Choice]:
    return [
        Choice("link:yes", _("Yes, it is me: link them"), ("co", "dung", "yes", "lien ket")),
        Choice("link:no", _("No, register separately"), ("khong", "no", "rieng")),
    ]


def ask_offer(ctx: Ctx) -> list[Reply]:
    target = _target(ctx)
    text = fmt(
        _(
            "The number {phone} is already registered with Nông Dân Số on {app}. If that is "
            "you, I can link the two: your listings, orders and lessons will be shared, and "
            "messages will reach you in the app you used last."
        ),
        phone=display_phone(ctx.user.phone),
        app=_app(ctx, target) if target else "",
    )
    return ask_choice(text, _offer_choices())


async def answer_offer(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _offer_choices())
    if choice is None:
        return Retry(_("Please choose 1 (link) or 2 (register separately)."))
    if choice.key == "link:no":
        return Ask(NEXT_STATE)
    return await _send_code(ctx)


async def _send_code(ctx: Ctx) -> Outcome:
    """Send a code to the registered account and ask for it here."""
    target = _target(ctx)
    if target is None:
        return Ask(NEXT_STATE)
    code = _service(ctx).issue(ctx.msg.user_key, target, ctx.now)
    if code is None:
        refused = _(
            "Too many codes were sent to that account today. Let us go on registering here."
        )
        return Ask(NEXT_STATE, say=[Reply(refused)])
    channel = ctx.msg.channel
    minutes = int(CODE_TTL.total_seconds() // 60)

    def message() -> list[Reply]:
        text = _(
            "Someone is linking {app} to your Nông Dân Số account. If it is you, type this "
            "code there: <b>{code}</b> (valid {minutes} minutes). If it is not you, ignore "
            "this message and never share the code."
        )
        return [Reply(fmt(text, app=_app_name(channel), code=code, minutes=minutes))]

    if not await ctx.services.notifier.notify(target, message):
        unreachable = _(
            "I could not reach your other account just now, so I cannot link them. Let us go "
            "on registering here; you can ask the digital-tech team to link them later."
        )
        return Ask(NEXT_STATE, say=[Reply(unreachable)])
    return Ask("link_code")


# --- code ---------------------------------------------------------------------------------


def _code_choices() -> list[Choice]:
    return [
        Choice("link:resend", _("Send a new code"), ("gui lai", "ma moi", "resend")),
        Choice("link:no", _("Register separately"), ("khong", "rieng", "no")),
    ]


def ask_code(ctx: Ctx) -> list[Reply]:
    target = _target(ctx)
    text = fmt(
        _("I sent a {digits}-digit code to your account on {app}. Please type it here."),
        digits=CODE_DIGITS,
        app=_app(ctx, target) if target else "",
    )
    return ask_choice(text, _code_choices())


async def answer_code(ctx: Ctx, msg: Incoming) -> Outcome:
    typed = "".join(msg.text.split()) if msg.kind == "text" else ""
    if not (typed.isdigit() and len(typed) == CODE_DIGITS):
        choice = match_choice(msg, _code_choices())
        if choice is not None and choice.key == "link:resend":
            return await _send_code(ctx)
        if choice is not None:
            return Ask(NEXT_STATE)
        return Retry(fmt(_("Please type the {digits}-digit code."), digits=CODE_DIGITS))
    service = _service(ctx)
    verdict, target_id = service.check(ctx.msg.user_key, typed, ctx.now)
    if verdict == Check.WRONG:
        left = service.tries_left(ctx.msg.user_key)
        return Retry(fmt(_("That code is not right. {left} tries left."), left=left))
    if verdict == Check.EXPIRED:
        return Retry(_("That code has expired. Tap Send a new code."))
    target = ctx.services.users.get(target_id) if verdict == Check.OK else None
    if target is None:
        wrong = _("The code was wrong too many times. Let us go on registering here.")
        return Ask(NEXT_STATE, say=[Reply(wrong)])
    ctx.user = service.merge(ctx.user, target, ctx.msg.user_key)
    done = fmt(
        _("Done! This app is now linked to your account, {name}. Here is what I can do:"),
        name=ctx.user.name,
    )
    return Done([Reply(done)])


def states() -> dict[str, State]:
    """The linking questions, to add to the onboarding flow."""
    return {
        "link_offer": State(ask_offer, answer_offer, to=("area", "link_code")),
        "link_code": State(ask_code, answer_code, to=("area",)),
    }
