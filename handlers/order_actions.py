"""Buttons on an order ("ord:<verb>:<id>"), wherever they appear: notifications, lists, cards.

Every press is checked against the order: only its farmer confirms, declines, ships and
delivers; only its buyer cancels; its two parties (and admins) may view it. Anything else is
refused with the same words as a missing order, and logged.
"""

from __future__ import annotations

import logging

from bot.core.flow import (
    Choice,
    Ctx,
    Done,
    Outcome,
    Retry,
    Start,
    State,
    Stay,
    ask_choice,
    is_text,
    match_choice,
)
from bot.core.fmt import fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import _
from bot.services.order_notices import (
    buyer_buttons,
    farmer_buttons,
    order_card,
    status_label,
    tell_buyer_change,
    tell_farmer_cancelled,
)
from bot.services.orders import CONFIRMED, NEW, TOO_MUCH, UNAVAILABLE, Order, OrderRefused
from bot.services.search import amount
from bot.text import clean

log = logging.getLogger(__name__)

FLOW = "orders"  # the reason and tracking questions live in the farmer's orders flow
REASON_MAX = 200
TRACKING_MAX = 64
FARMER_VERBS = ("ok", "no", "ship", "done")


def _refuse(ctx: Ctx, verb: str, raw_id: str) -> Outcome:
    log.warning("refused ord:%s on order %r for user %s", verb, raw_id, ctx.user.id)
    return Stay([Reply(_("Sorry, this order cannot be found."))])


def _order(ctx: Ctx, verb: str, raw_id: str) -> Order | None:
    """The order if this user may do `verb` to it, else None."""
    order = ctx.services.orders.get(int(raw_id)) if raw_id.isdigit() else None
    if order is None:
        return None
    uid = ctx.user.id
    if verb in FARMER_VERBS:
        return order if order.farmer_id == uid else None
    if verb == "cx":
        return order if order.buyer_id == uid else None
    if verb == "v" and (uid in (order.farmer_id, order.buyer_id) or ctx.is_admin):
        return order
    return None


def card_reply(ctx: Ctx, order: Order, head: str = "") -> Reply:
    """The order as this user may see it, with what they can do next."""
    if order.farmer_id == ctx.user.id:
        text, buttons = order_card(order, ctx.services, "farmer"), farmer_buttons(order)
    elif order.buyer_id == ctx.user.id:
        text, buttons = order_card(order, ctx.services, "buyer"), buyer_buttons(order)
    else:
        text, buttons = order_card(order, ctx.services, "admin"), []
    return Reply(f"{head}\n\n{text}" if head else text, buttons=buttons)


def _too_late(ctx: Ctx, order: Order) -> Outcome:
    text = fmt(
        _("Order {code} is already {status}."), code=order.code, status=status_label(order.status)
    )
    return Stay([card_reply(ctx, order, text)])


async def act(ctx: Ctx, msg: Incoming, rest: list[str]) -> Outcome:
    """Handle an "ord:<verb>:<id>" button."""
    if len(rest) != 2:
        return _refuse(ctx, ":".join(rest), "")
    verb, raw_id = rest
    order = _order(ctx, verb, raw_id)
    if order is None:
        return _refuse(ctx, verb, raw_id)
    orders, now = ctx.services.orders, ctx.now
    try:
        if verb == "v":
            return Stay([card_reply(ctx, order)])
        if verb == "ok":
            order = orders.confirm(order.id, now)
            await tell_buyer_change(ctx.services, order)
            head = fmt(_("✅ Order {code} confirmed. The buyer has been told."), code=order.code)
            return Done([card_reply(ctx, order, head)])
        if verb == "no":
            if order.status not in (NEW, CONFIRMED):
                return _too_late(ctx, order)
            return Start(FLOW, "reason", {"order": order.id})
        if verb == "ship":
            if order.status != CONFIRMED:
                return _too_late(ctx, order)
            return Start(FLOW, "tracking", {"order": order.id})
        if verb == "done":
            order = orders.deliver(order.id, now)
            await tell_buyer_change(ctx.services, order)
            head = fmt(_("📦 Order {code} delivered. The buyer has been told."), code=order.code)
            return Done([card_reply(ctx, order, head)])
        if verb == "cx":
            order = orders.cancel(order.id, "buyer", "", now)
            await tell_farmer_cancelled(ctx.services, order)
            head = fmt(_("Order {code} is cancelled. The seller has been told."), code=order.code)
            return Done([card_reply(ctx, order, head)])
    except OrderRefused as refused:
        fresh = orders.get(order.id) or order
        if refused.reason == TOO_MUCH:
            text = fmt(
                _(
                    "Cannot confirm order {code}: only {stock} is left in stock, less than "
                    "ordered. Decline it, or add stock to the listing first."
                ),
                code=order.code,
                stock=amount(refused.available, order.unit),
            )
            return Stay([card_reply(ctx, fresh, text)])
        if refused.reason == UNAVAILABLE and fresh.status == NEW:
            text = fmt(
                _(
                    "Cannot confirm order {code}: its listing was deleted. Please decline it, "
                    "so the buyer knows."
                ),
                code=order.code,
            )
            return Stay([card_reply(ctx, fresh, text)])
        return _too_late(ctx, fresh)
    return _refuse(ctx, verb, raw_id)


# --- decline: the reason ------------------------------------------------------------------


def _reason_choices() -> list[Choice]:
    return [
        Choice("rs:stock", _("Out of stock"), ("het hang",)),
        Choice("rs:ship", _("Cannot deliver to that address"), ("khong giao duoc",)),
        Choice("rs:buyer", _("Could not reach the buyer"), ("khong lien lac duoc",)),
        Choice("rs:keep", _("Do not decline"), ("khong huy", "giu")),
    ]


def _target(ctx: Ctx, verb: str) -> Order | None:
    return _order(ctx, verb, str(ctx.data.get("order", "")))


def ask_reason(ctx: Ctx) -> list[Reply]:
    order = _target(ctx, "no")
    code = order.code if order else ""
    text = fmt(_("Why are you declining order {code}? Pick a reason or type it."), code=code)
    return ask_choice(text, _reason_choices())


async def answer_reason(ctx: Ctx, msg: Incoming) -> Outcome:
    order = _target(ctx, "no")
    if order is None:
        return Done([Reply(_("Sorry, this order cannot be found."))])
    choice = match_choice(msg, _reason_choices())
    if choice is not None and choice.key == "rs:keep":
        return Done([card_reply(ctx, order)])
    if choice is not None:
        reason = choice.label
    elif is_text(msg) and clean(msg.text):
        reason = clean(msg.text)[:REASON_MAX]
    else:
        return Retry(_("Please pick a reason, or type it in a few words."))
    try:
        order = ctx.services.orders.cancel(order.id, "farmer", reason, ctx.now)
    except OrderRefused:
        return Done([card_reply(ctx, ctx.services.orders.get(order.id) or order)])
    await tell_buyer_change(ctx.services, order)
    head = fmt(_("Order {code} declined. The buyer has been told."), code=order.code)
    return Done([card_reply(ctx, order, head)])


# --- shipping: the tracking code ----------------------------------------------------------


def ask_tracking(ctx: Ctx) -> list[Reply]:
    text = _("Type the shipping tracking code, if there is one, or tap No code.")
    return [Reply(text, buttons=[[Button(_("No code"), "tk:skip")]])]


async def answer_tracking(ctx: Ctx, msg: Incoming) -> Outcome:
    order = _target(ctx, "ship")
    if order is None:
        return Done([Reply(_("Sorry, this order cannot be found."))])
    if msg.kind == "button" and msg.payload == "tk:skip":
        tracking = ""
    elif is_text(msg) and clean(msg.text):
        tracking = clean(msg.text)
        if len(tracking) > TRACKING_MAX:
            return Retry(
                fmt(_("That code is too long (at most {max} characters)."), max=TRACKING_MAX)
            )
    else:
        return Retry(_("Please type the tracking code, or tap No code."))
    try:
        order = ctx.services.orders.ship(order.id, tracking, ctx.now)
    except OrderRefused:
        return Done([card_reply(ctx, ctx.services.orders.get(order.id) or order)])
    await tell_buyer_change(ctx.services, order)
    head = fmt(_("🚚 Order {code} is on its way. The buyer has been told."), code=order.code)
    return Done([card_reply(ctx, order, head)])


STATES = {
    "reason": State(ask_reason, answer_reason),
    "tracking": State(ask_tracking, answer_tracking),
}
