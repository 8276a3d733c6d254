"""Đơn của tôi: a buyer's orders and their status; open one, cancel it while it is new."""

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
    ask_choice,
    match_choice,
)
from bot.core.fmt import fmt
from bot.core.types import Incoming, Reply
from bot.i18n import N_, _
from bot.services.order_notices import status_label
from bot.services.orders import Order
from bot.services.search import amount
from bot.text import clip
from handlers import order_actions
from handlers.paging import page_of, turn_choices, turned


def _line(order: Order) -> str:
    text = f"{order.code} · {order.product_name} · {amount(order.qty, order.unit)}"
    return clip(f"{text} · {status_label(order.status)}", 60)


def _page(ctx: Ctx) -> tuple[list[Order], int, int]:
    return page_of(ctx, ctx.services.orders.of_buyer(ctx.user.id))


def _choices(ctx: Ctx) -> list[Choice]:
    shown, page, pages = _page(ctx)
    choices = [Choice(f"ord:v:{o.id}", _line(o)) for o in shown]
    choices += turn_choices("m", page, pages)
    if not shown:
        choices.append(Choice("m:buy", _("🛒 Buy products"), ("mua hang", "mua")))
    return [*choices, Choice("m:back", _("Back to menu"), ("quay lai", "tro ve"))]


def ask_list(ctx: Ctx) -> list[Reply]:
    shown, page, pages = _page(ctx)
    if not shown:
        return ask_choice(_("You have no orders yet."), _choices(ctx))
    text = fmt(
        _("<b>My orders</b> — page {page} of {pages}. Tap one to see it."),
        page=page + 1,
        pages=pages,
    )
    return ask_choice(text, _choices(ctx))


async def answer_list(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _choices(ctx))
    if choice is None:
        return Retry(_("Please tap one of your orders, or Back."))
    if choice.key == "m:back":
        return Done()
    if choice.key == "m:buy":
        return Start("buy")
    if turned(ctx, "m", choice.key):
        return Ask("list", redraw=True)
    return await order_actions.act(ctx, msg, choice.key.split(":")[1:])


def build() -> Flow:
    """The buyer's orders flow."""
    return Flow(
        name="myorders",
        first="list",
        states={
            "list": State(ask_list, answer_list, to=("buy/", "orders/reason", "orders/tracking"))
        },
        commands={"donmua": "list", "myorders": "list"},
        menu=MenuEntry("myorders", N_("🧾 My orders"), 35, words=("don cua toi", "don mua")),
    )
