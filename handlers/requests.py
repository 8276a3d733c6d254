"""One-sentence requests: open the flow they name with their details filled in.

"bán 2 tạ na giá 40k" opens Đăng bán with product, quantity and price answered, so only the
missing questions are asked and the form ends at its usual summary; "mua 10 kg na chi lăng"
shows what is on sale; "đơn DH0212-0001 đã gửi hàng" goes to that order's shipping step.
Nothing is stored here: every change waits for the flow's own confirmation.
"""

from __future__ import annotations

import logging

from bot.core.flow import Ask, Ctx, Done, Outcome, Start, Stay
from bot.core.fmt import fmt
from bot.core.slots import BUY, CORRECT, FILL, ORDER, SELL, SHARE, Request
from bot.core.types import Incoming, Reply
from bot.i18n import _
from bot.services.listings import ACTIVE, MAX_ACTIVE_PER_FARMER, PRICE_MAX, PRICE_MIN
from bot.services.orders import CONFIRMED, NEW, SHIPPING
from bot.services.search import Filters, find
from bot.services.users import FARMER
from bot.text import Price, price_per_unit
from handlers import listings_mine, order_actions
from handlers.listings import LIMIT_TEXT
from handlers.listings_base import after
from handlers.listings_price import apply_correction, implausible

log = logging.getLogger(__name__)

FORM = ("product", "grade", "quantity", "price")
# What each request action does to an order, as the buttons under it would.
_FARMER_VERBS = {"ship": "ship", "cancel": "no", "view": "v", "confirm": "v", "deliver": "v"}


async def open_request(ctx: Ctx, request: Request) -> Outcome:
    """Start the flow a request names, with its details already answered."""
    if request.intent == SELL:
        return _sell(ctx, request)
    if request.intent == BUY:
        return _buy(ctx, request)
    if request.intent == ORDER:
        return await _order(ctx, request)
    if request.intent == SHARE:
        return await _share(ctx, request)
    if request.intent == FILL:
        return await _fill(ctx, request)
    if request.intent == CORRECT and request.slots:
        said = apply_correction(ctx, request.slots)
        return Ask(request.action, [Reply(said)])  # the same question again
    return Done()


def _sell(ctx: Ctx, request: Request) -> Outcome:
    """The listing form with product, quantity, unit and price filled in."""
    if ctx.user.role != FARMER and not ctx.is_admin:
        return Start("listings")  # its first question explains who may sell
    if ctx.services.listings.count_active(ctx.user.id) >= MAX_ACTIVE_PER_FARMER:
        return Done([Reply(_(LIMIT_TEXT).format(max=MAX_ACTIVE_PER_FARMER))])
    data: dict[str, object] = {}
    filled: list[str] = []
    if request.product_id:
        data["product_id"], data["product_name"] = request.product_id, request.product_name
        filled.append("product")
    if request.quantity is not None:
        data["quantity"], data["unit"] = format(request.quantity.normalize(), "f"), request.unit
        data["quantity_changed"] = True
        filled.append("quantity")
    unit = str(data.get("unit") or _default_unit(ctx, request.product_id) or "kg")
    if request.price is not None and "quantity" not in filled:
        # "bán na 40k/kg": the price is kept for the unit it was typed for; the amount asked
        # next may change the unit (the price follows it), and when the form reaches the
        # price it is checked against the product's usual range (listings_base.next_state).
        unit = request.price_unit or unit
        per_unit = price_per_unit(Price(request.price, request.price_unit or None), unit)
        if per_unit is not None and PRICE_MIN <= per_unit <= PRICE_MAX:
            data["unit"], data["price_typed"] = unit, per_unit
    if request.price is not None and "quantity" in filled:
        price = Price(request.price, request.price_unit or None)
        per_unit = price_per_unit(price, unit)
        if per_unit is not None and PRICE_MIN <= per_unit <= PRICE_MAX:
            products = ctx.services.products
            if not request.price_unit and implausible(
                products, request.product_id, per_unit, unit
            ):
                data["price_typed"] = per_unit  # asked as "… một kg hay một tạ?" in its turn
            else:
                data["price"] = per_unit
                filled.append("price")
    data["prefilled"] = filled
    state = "grade" if "product" in filled else "product"
    log.info("user %s opened the listing form from a request (%s)", ctx.user.id, filled)
    return Start("listings", state, data)


async def _fill(ctx: Ctx, request: Request) -> Outcome:
    """Several answers of the listing form at once: take them all, go on past them."""
    filled = list(ctx.data.get("prefilled") or [])
    if request.product_id:
        ctx.data["product_id"], ctx.data["product_name"] = request.product_id, request.product_name
        filled.append("product")
    if request.quantity is not None:
        amount = format(request.quantity.normalize(), "f")
        ctx.data["quantity"], ctx.data["unit"] = amount, request.unit
        filled.append("quantity")
    unit = str(ctx.data.get("unit") or _default_unit(ctx, request.product_id) or "kg")
    if request.price is not None:
        per_unit = price_per_unit(Price(request.price, request.price_unit or None), unit)
        if per_unit is not None and PRICE_MIN <= per_unit <= PRICE_MAX:
            pid = str(ctx.data.get("product_id", ""))
            if not request.price_unit and implausible(ctx.services.products, pid, per_unit, unit):
                ctx.data["price_typed"] = per_unit
            else:
                ctx.data["price"] = per_unit
                filled.append("price")
    ctx.data["prefilled"] = filled
    if request.action not in filled:
        return Ask(request.action)  # what this question asks was not among them
    return await after(ctx, request.action)


def _default_unit(ctx: Ctx, product_id: str) -> str | None:
    entry = ctx.services.products.get(product_id)
    return str(entry.get("default_unit")) if entry and entry.get("default_unit") else None


def _buy(ctx: Ctx, request: Request) -> Outcome:
    """What is on sale for the product named, or the search question when nothing is."""
    query = request.product_name or ""
    data: dict[str, object] = {"q": query, "product": "", "area": "", "cert": "", "page": 0}
    if request.quantity is not None:  # asked again only if the chosen offer cannot take it
        data["want"] = f"{format(request.quantity.normalize(), 'f')} {request.unit}"
    if query and find(ctx.services.listings.offers, ctx.services.products, Filters(query)):
        return Start("buy", "results", data)
    if query:
        none = fmt(_("Nothing is on sale for “{q}” right now."), q=query)
        return Start("buy", "find", {}, say=[Reply(none)])
    return Start("buy", "find")


async def _share(ctx: Ctx, request: Request) -> Outcome:
    """Share the farmer's latest listing (on the platform named, if one was)."""
    mine = [x for x in ctx.services.listings.of_farmer(ctx.user.id) if x.status == ACTIVE]
    if not mine:
        return Start("mylistings", "list")
    latest = max(mine, key=lambda x: (x.updated_at, x.id))
    rest = ["po", str(latest.id), request.action] if request.action else ["sh", str(latest.id)]
    press = Incoming(
        channel=ctx.msg.channel,
        user_key=ctx.msg.user_key,
        kind="button",
        payload="lst:" + ":".join(rest),
    )
    return await listings_mine.act(ctx, press, rest)


# Which orders "đã gửi hàng" (no code) can mean: the one order waiting for that step.
_WAITING = {"ship": (CONFIRMED,), "deliver": (SHIPPING,), "confirm": (NEW,)}


async def _order(ctx: Ctx, request: Request) -> Outcome:
    """An order named by its code: the step or card of what was asked for it."""
    if not request.code:
        statuses = _WAITING.get(request.action, ())
        waiting = [o for o in ctx.services.orders.of_farmer(ctx.user.id) if o.status in statuses]
        if ctx.user.role != FARMER:
            return Start("myorders", "list")
        if len(waiting) != 1:
            hint = _("Which order? Type its code (e.g. DH0212-0001), or pick it below.")
            return Start("orders", "home", say=[Reply(hint)])
        request.code = waiting[0].code
    order = ctx.services.orders.by_code(request.code)
    if order is None or ctx.user.id not in (order.farmer_id, order.buyer_id):
        if order is not None:
            log.warning("user %s named order %s of someone else", ctx.user.id, order.id)
        text = fmt(_("I cannot find order {code} among your orders."), code=request.code)
        return Done([Reply(text)])
    # A buyer cancels with the button under the card: one tap confirms it.
    verb = _FARMER_VERBS.get(request.action, "v") if order.farmer_id == ctx.user.id else "v"
    press = Incoming(
        channel=ctx.msg.channel,
        user_key=ctx.msg.user_key,
        kind="button",
        payload=f"ord:{verb}:{order.id}",
    )
    outcome = await order_actions.act(ctx, press, [verb, str(order.id)])
    if verb == "v" and request.action != "view" and isinstance(outcome, Stay | Done):
        outcome.say.append(Reply(_("Tap a button under the order to do that.")))
    return outcome
