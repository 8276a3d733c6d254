"""How an order is shown to each party, and the messages each status change sends.

Who sees what: the farmer sees the buyer's phone and address (she ships to them), the buyer
sees the farmer's phone once the order is confirmed, an admin sees neither. A farmer no app can
reach now (Zalo's reply window or quota) is called by their area's team, who are told to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from bot.core.fmt import fmt
from bot.core.notify import OUT_OF_REACH, SENT
from bot.core.ports import StepServices
from bot.core.types import Button, Reply
from bot.i18n import N_, _, format_moment, format_vnd
from bot.services.handoff import team_of
from bot.services.orders import (
    BOT,
    CANCELLED,
    CONFIRMED,
    DELIVERED,
    NEW,
    SHIPPING,
    Order,
    local,
)
from bot.services.search import amount, price_text
from bot.text import display_phone

if TYPE_CHECKING:
    from bot.services.users import User

log = logging.getLogger(__name__)

View = Literal["farmer", "buyer", "admin"]

STATUS_LABELS = {
    NEW: N_("new, waiting for the seller"),
    CONFIRMED: N_("confirmed"),
    SHIPPING: N_("on its way"),
    DELIVERED: N_("delivered"),
    CANCELLED: N_("cancelled"),
}
CHANNEL_LABELS = {
    BOT: N_("through the bot"),
    "phone": N_("phone call"),
    "zalo": N_("Zalo"),
    "market": N_("marketplace (Postmart, Voso...)"),
    "other": N_("other"),
}
CANCELLED_BY = {
    "buyer": N_("the buyer cancelled it"),
    "farmer": N_("the seller declined it"),
    "expired": N_("not confirmed in time"),
    "deleted": N_("a party deleted their data"),
    "withdrawn": N_("the seller withdrew the product"),
}


def status_label(status: str) -> str:
    """The status in words."""
    return _(STATUS_LABELS.get(status, status))


def when(iso: str) -> str:
    """A stored moment as the farmers' clock shows it."""
    return format_moment(local(datetime.fromisoformat(iso))) if iso else "—"


def order_card(order: Order, services: StepServices, view: View) -> str:
    """An order's details as `view`'s party may see them."""
    lines = [
        fmt(
            _("<b>Order {code}</b> — {status}"), code=order.code, status=status_label(order.status)
        ),
        fmt(
            _("{product}: {amount} × {price}"),
            product=order.product_name,
            amount=amount(order.qty, order.unit),
            price=price_text(order.price, order.unit),
        ),
        fmt(_("Total: <b>{total}</b>"), total=format_vnd(order.total)),
        fmt(_("Ordered: {moment}"), moment=when(order.created_at)),
    ]
    if order.channel != BOT:
        lines.append(fmt(_("Taken by: {channel}"), channel=_(CHANNEL_LABELS[order.channel])))
    if view == "buyer":
        farmer = services.users.get(order.farmer_id) if order.farmer_id else None
        seller = farmer.name if farmer else _("(no longer registered)")
        lines.append(fmt(_("Seller: {name}"), name=seller))
        if farmer and farmer.phone and order.status in (CONFIRMED, SHIPPING, DELIVERED):
            lines.append(fmt(_("Seller's phone: {phone}"), phone=display_phone(farmer.phone)))
    else:
        buyer = order.buyer_name or _("(no longer registered)")
        lines.append(fmt(_("Buyer: {name}"), name=buyer))
    if view != "admin":
        if view == "farmer" and order.phone:
            lines.append(fmt(_("Phone: {phone}"), phone=display_phone(order.phone)))
        if order.address:
            lines.append(fmt(_("Deliver to: {address}"), address=order.address))
    if order.note and view != "admin":
        lines.append(fmt(_("Note: {note}"), note=order.note))
    if order.tracking:
        lines.append(fmt(_("Tracking code: {code}"), code=order.tracking))
    if order.status == CANCELLED:
        parts = [_(CANCELLED_BY[order.cancelled_by])] if order.cancelled_by in CANCELLED_BY else []
        parts += [order.reason] if order.reason else []
        if parts:
            lines.append(fmt(_("Cancelled: {why}"), why=": ".join(parts)))
    return "\n".join(lines)


def farmer_buttons(order: Order) -> list[list[Button]]:
    """What the farmer can do with the order now."""
    oid = order.id
    if order.status == NEW:
        return [
            [Button(_("✅ Confirm"), f"ord:ok:{oid}"), Button(_("❌ Decline"), f"ord:no:{oid}")]
        ]
    if order.status == CONFIRMED:
        return [
            [Button(_("🚚 Mark shipping"), f"ord:ship:{oid}")],
            [Button(_("📦 Mark delivered"), f"ord:done:{oid}")],
            [Button(_("❌ Cancel order"), f"ord:no:{oid}")],
        ]
    if order.status == SHIPPING:
        return [[Button(_("📦 Mark delivered"), f"ord:done:{oid}")]]
    return []


def buyer_buttons(order: Order) -> list[list[Button]]:
    """What the buyer can do with the order now: cancel while it is new."""
    if order.status == NEW:
        return [[Button(_("Cancel this order"), f"ord:cx:{order.id}")]]
    return []


async def tell(
    services: StepServices,
    user_id: int,
    build: Callable[[], list[Reply]],
    order: Order | None = None,
) -> bool:
    """Notify a party of an order (in their language), if they are still registered.

    With `order`, a farmer out of reach on every app gets their area's team told instead.
    """
    user = services.users.get(user_id) if user_id else None
    if user is None:
        return False
    outcome = await services.notifier.deliver(user, build)
    if outcome == OUT_OF_REACH and order is not None and user.id == order.farmer_id:
        await tell_team_unreachable(services, order, user)
    return outcome == SENT


async def tell_team_unreachable(services: StepServices, order: Order, farmer: User) -> int:
    """Ask the farmer's area team to call them about an order; how many members were told."""

    def build() -> list[Reply]:
        text = fmt(
            _(
                "📵 Farmer {name} cannot be reached on Zalo right now (no message from them "
                "lately), so they have not seen the news of order {code} ({status}). "
                "Please call them: {phone}."
            ),
            name=farmer.name,
            code=order.code,
            status=status_label(order.status),
            phone=display_phone(farmer.phone) if farmer.phone else "—",
        )
        return [Reply(text)]

    told = 0
    for member in team_of(services.users, farmer.area):
        if member.id != farmer.id and await services.notifier.notify(member, build):
            told += 1
    if not told:
        log.warning(
            "order %s: farmer %s is out of reach and no team member was told", order.id, farmer.id
        )
    return told


async def tell_farmer_new(services: StepServices, order: Order) -> bool:
    """A new order reaches the farmer, with Confirm / Decline buttons."""

    def build() -> list[Reply]:
        head = _("🛒 <b>New order!</b> Please confirm or decline it.") + "\n\n"
        card = order_card(order, services, "farmer")
        return [Reply(head + card, buttons=farmer_buttons(order))]

    return await tell(services, order.farmer_id, build, order)


async def tell_buyer_change(services: StepServices, order: Order) -> bool:
    """The buyer learns their order's new status."""

    def build() -> list[Reply]:
        heads = {
            CONFIRMED: _("✅ The seller confirmed your order {code}."),
            SHIPPING: _("🚚 Your order {code} is on its way."),
            DELIVERED: _("📦 Your order {code} was delivered. Thank you for buying!"),
            CANCELLED: _("❌ Sorry, your order {code} was cancelled."),
        }
        head = fmt(heads.get(order.status, _("Your order {code} changed.")), code=order.code)
        return [Reply(head + "\n\n" + order_card(order, services, "buyer"))]

    return await tell(services, order.buyer_id, build)


async def tell_farmer_cancelled(services: StepServices, order: Order) -> bool:
    """The farmer learns the buyer cancelled an order."""

    def build() -> list[Reply]:
        head = fmt(_("The buyer cancelled order {code}."), code=order.code)
        return [Reply(head + "\n\n" + order_card(order, services, "farmer"))]

    # A notice is tried again on later passes: the team is asked to call once, on the first.
    return await tell(services, order.farmer_id, build, order if not order.notice_tries else None)


async def tell_reminder(services: StepServices, order: Order) -> None:
    """Remind the farmer of an unconfirmed order; let the buyer know it is still waiting."""

    def to_farmer() -> list[Reply]:
        head = fmt(
            _(
                "⏰ Order {code} is still waiting for you. "
                "Unless confirmed it is cancelled at {moment}."
            ),
            code=order.code,
            moment=when(order.expire_at),
        )
        card = order_card(order, services, "farmer")
        return [Reply(head + "\n\n" + card, buttons=farmer_buttons(order))]

    def to_buyer() -> list[Reply]:
        text = _("Your order {code} is not confirmed yet; we have reminded the seller.")
        return [Reply(fmt(text, code=order.code))]

    await tell(services, order.farmer_id, to_farmer, order)
    await tell(services, order.buyer_id, to_buyer)


async def tell_expired(services: StepServices, order: Order) -> None:
    """Both parties learn an unconfirmed order was cancelled for lack of confirmation."""

    def to_farmer() -> list[Reply]:
        text = _("⌛ Order {code} was cancelled: it was not confirmed in time.")
        return [Reply(fmt(text, code=order.code) + "\n\n" + order_card(order, services, "farmer"))]

    def to_buyer() -> list[Reply]:
        text = _(
            "⌛ Sorry, your order {code} was cancelled: the seller did not confirm it in time."
        )
        return [Reply(fmt(text, code=order.code) + "\n\n" + order_card(order, services, "buyer"))]

    await tell(services, order.farmer_id, to_farmer, order)
    await tell(services, order.buyer_id, to_buyer)
