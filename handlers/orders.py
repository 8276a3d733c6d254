"""Đơn hàng (farmers): orders by status, each list paged, this month's totals; open an order.

What can be done to an order (confirm, decline, ship, deliver) is in handlers/order_actions,
since the same buttons come with notifications; orders taken elsewhere in order_outside.
"""

from __future__ import annotations

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
    is_text,
    match_choice,
)
from bot.core.fmt import fmt
from bot.core.types import Incoming, Reply
from bot.i18n import N_, _, format_number, format_vnd
from bot.services.order_notices import STATUS_LABELS
from bot.services.orders import CANCELLED, CONFIRMED, DELIVERED, NEW, SHIPPING, STATUSES, Order
from bot.services.search import amount
from bot.services.users import FARMER
from bot.text import clip
from handlers import order_actions
from handlers.paging import page_of, turn_choices, turned

LIST_TITLES = {
    NEW: N_("🆕 New"),
    CONFIRMED: N_("✅ Confirmed"),
    SHIPPING: N_("🚚 On the way"),
    DELIVERED: N_("📦 Delivered"),
    CANCELLED: N_("❌ Cancelled"),
}


def is_farmer(ctx: Ctx) -> bool:
    """Who sees "Đơn hàng" in the menu."""
    return ctx.user.role == FARMER


def order_line(order: Order) -> str:
    """One order as a short button label."""
    who = order.buyer_name or "—"
    return clip(
        f"{order.code} · {order.product_name} · {amount(order.qty, order.unit)} · {who}", 60
    )


# --- home ---------------------------------------------------------------------------------


def _home_choices(ctx: Ctx) -> list[Choice]:
    mine = ctx.services.orders.of_farmer(ctx.user.id)
    counts = {s: sum(1 for o in mine if o.status == s) for s in STATUSES}
    choices = [
        Choice(f"s:{s}", f"{_(LIST_TITLES[s])} ({counts[s]})", (_(STATUS_LABELS[s]), s))
        for s in STATUSES
    ]
    return [
        *choices,
        Choice("h:out", _("➕ Record an order taken elsewhere"), ("ghi don", "them don")),
        Choice("h:back", _("Back to menu"), ("quay lai", "tro ve")),
    ]


def _totals_text(ctx: Ctx) -> str:
    totals = ctx.services.orders.month_totals(ctx.user.id, ctx.now)
    qty = ", ".join(amount(v, u) for u, v in sorted(totals.quantity.items())) or "0"
    return "\n".join(
        [
            _("<b>This month</b>:"),
            fmt(_("• Orders: {n} (cancelled ones not counted)"), n=format_number(totals.orders)),
            fmt(_("• Quantity: {qty}"), qty=qty),
            fmt(
                _("• Revenue: {money} (confirmed, on the way and delivered)"),
                money=format_vnd(totals.revenue),
            ),
            fmt(_("• Of which delivered: {money}"), money=format_vnd(totals.delivered)),
        ]
    )


def ask_home(ctx: Ctx) -> list[Reply]:
    text = _("<b>Your orders</b>. Pick a list, or type an order code (e.g. DH2611-0042).")
    return ask_choice(f"{text}\n\n{_totals_text(ctx)}", _home_choices(ctx), columns=2)


async def answer_home(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _home_choices(ctx))
    if choice is None:
        if is_text(msg):
            order = ctx.services.orders.by_code(msg.text)
            if order is not None and order.farmer_id == ctx.user.id:
                return Stay([order_actions.card_reply(ctx, order)])
            return Retry(_("No order of yours has that code. Pick a list, or check the code."))
        return Retry(_("Please pick a list of orders."))
    if choice.key == "h:back":
        return Done()
    if choice.key == "h:out":
        return Start("order_out")
    ctx.data.update(status=choice.key.removeprefix("s:"), page=0)
    return Ask("list")


# --- one list -----------------------------------------------------------------------------


def _page(ctx: Ctx) -> tuple[list[Order], int, int]:
    return page_of(ctx, ctx.services.orders.of_farmer(ctx.user.id, ctx.data.get("status", NEW)))


def _list_choices(ctx: Ctx) -> list[Choice]:
    shown, page, pages = _page(ctx)
    choices = [Choice(f"ord:v:{o.id}", order_line(o)) for o in shown]
    choices += turn_choices("l", page, pages)
    return [*choices, Choice("l:back", _("Back"), ("quay lai",))]


def ask_list(ctx: Ctx) -> list[Reply]:
    shown, page, pages = _page(ctx)
    title = _(LIST_TITLES.get(ctx.data.get("status", NEW), LIST_TITLES[NEW]))
    if not shown:
        return ask_choice(fmt(_("{title}: no orders."), title=title), _list_choices(ctx))
    text = fmt(
        _("{title} — page {page} of {pages}. Tap an order to open it."),
        title=title,
        page=page + 1,
        pages=pages,
    )
    return ask_choice(text, _list_choices(ctx))


async def answer_list(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _list_choices(ctx))
    if choice is None:
        return Retry(_("Please tap an order, or Back."))
    if choice.key == "l:back":
        return Ask("home")
    if turned(ctx, "l", choice.key):
        return Ask("list", redraw=True)
    # A typed number lands here (a tapped "ord:v:" button is handled as an action).
    return await order_actions.act(ctx, msg, choice.key.split(":")[1:])


def build() -> Flow:
    """The farmer's orders flow (with the questions of order actions)."""
    return Flow(
        name="orders",
        first="home",
        states={
            "home": State(ask_home, answer_home, to=("list", "order_out/")),
            "list": State(ask_list, answer_list, to=("home", "reason", "tracking")),
            **order_actions.STATES,
        },
        commands={"donhang": "home", "orders": "home"},
        menu=MenuEntry(
            "orders", N_("📋 Orders"), 20, visible=is_farmer, words=("don hang", "don")
        ),
        actions={"ord": order_actions.act},
        leads_to=("reason", "tracking"),
    )
