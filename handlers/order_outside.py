"""Record an order taken outside the bot (a call, Zalo, a marketplace): all orders in one place.

Such an order is confirmed at once and reserves its quantity, like any confirmed order.
"""

from __future__ import annotations

from decimal import Decimal

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
    is_text,
    match_choice,
)
from bot.core.fmt import fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import _, format_vnd
from bot.services.listings import SOLD_OUT, Listing
from bot.services.order_notices import CHANNEL_LABELS
from bot.services.orders import OUTSIDE_CHANNELS, TOO_MUCH, OrderRefused, total_of
from bot.services.search import amount, unit_label
from bot.text import clean, clip, normalize_phone, parse_quantity
from handlers.buy_form import NAME_MAX, in_unit

LISTINGS_SHOWN = 10


def _mine(ctx: Ctx) -> list[Listing]:
    listings = ctx.services.orders.listings.of_farmer(ctx.user.id)
    return [item for item in listings if item.status != SOLD_OUT][:LISTINGS_SHOWN]


def _listing(ctx: Ctx) -> Listing | None:
    listing = ctx.services.orders.listings.get(int(ctx.data.get("listing", 0)))
    return listing if listing is not None and listing.farmer_id == ctx.user.id else None


def _back() -> Start:
    return Start("orders")


# --- listing ------------------------------------------------------------------------------


def _listing_choices(ctx: Ctx) -> list[Choice]:
    choices = [
        Choice(
            f"l:{item.id}",
            clip(f"{item.product_name} ({amount(Decimal(item.stock), item.unit)})", 60),
        )
        for item in _mine(ctx)
    ]
    return [*choices, Choice("l:back", _("Back"), ("quay lai",))]


def ask_listing(ctx: Ctx) -> list[Reply]:
    if len(_listing_choices(ctx)) == 1:
        return ask_choice(
            _("You have no product on sale with stock left to record an order for."),
            _listing_choices(ctx),
        )
    return ask_choice(
        _("Which product was ordered? (stock left in brackets)"), _listing_choices(ctx)
    )


async def answer_listing(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _listing_choices(ctx))
    if choice is None:
        return Retry(_("Please pick one of your products."))
    if choice.key == "l:back":
        return _back()
    ctx.data["listing"] = int(choice.key.removeprefix("l:"))
    return Ask("qty")


# --- quantity, buyer, phone, channel ------------------------------------------------------


def ask_qty(ctx: Ctx) -> list[Reply]:
    listing = _listing(ctx)
    unit = unit_label(listing.unit) if listing else "kg"
    return [Reply(fmt(_("How much was ordered? e.g. 10 {unit}"), unit=unit))]


async def answer_qty(ctx: Ctx, msg: Incoming) -> Outcome:
    listing = _listing(ctx)
    if listing is None:
        return _back()
    unit = unit_label(listing.unit)
    parsed = parse_quantity(msg.text, listing.unit) if is_text(msg) else None
    wanted = in_unit(parsed, listing.unit) if parsed else None
    if wanted is None:
        return Retry(fmt(_("Please type the amount in {unit}, e.g. 10 {unit}."), unit=unit))
    stock = Decimal(listing.stock)
    if wanted > stock:
        return Retry(
            fmt(
                _(
                    "Only {stock} is in stock. Please type a smaller amount, or add stock to "
                    "the listing first."
                ),
                stock=amount(stock, listing.unit),
            )
        )
    ctx.data["qty"] = str(wanted)
    return Ask("buyer")


def ask_buyer(ctx: Ctx) -> list[Reply]:
    return [Reply(_("The buyer's name?"))]


async def answer_buyer(ctx: Ctx, msg: Incoming) -> Outcome:
    name = clean(msg.text) if is_text(msg) else ""
    if not name:
        return Retry(_("Please type the buyer's name."))
    ctx.data["name"] = name[:NAME_MAX]
    return Ask("phone")


def ask_phone(ctx: Ctx) -> list[Reply]:
    text = _("The buyer's phone number, if you want to keep it? Type it, or tap Skip.")
    return [Reply(text, buttons=[[Button(_("Skip"), "op:skip")]])]


async def answer_phone(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "button" and msg.payload == "op:skip":
        ctx.data["phone"] = ""
        return Ask("channel")
    phone = normalize_phone(msg.text) if is_text(msg) else None
    if phone is None:
        return Retry(
            _("That does not look like a Vietnamese mobile number. Type it again, or tap Skip.")
        )
    ctx.data["phone"] = phone
    return Ask("channel")


def _channel_choices() -> list[Choice]:
    return [Choice(f"ch:{c}", _(CHANNEL_LABELS[c]), (c,)) for c in OUTSIDE_CHANNELS]


def ask_channel(ctx: Ctx) -> list[Reply]:
    return ask_choice(_("Where did the order come from?"), _channel_choices(), columns=2)


async def answer_channel(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _channel_choices())
    if choice is None:
        return Retry(_("Please pick where the order came from."))
    ctx.data["channel"] = choice.key.removeprefix("ch:")
    return Ask("confirm")


# --- confirm ------------------------------------------------------------------------------


def _confirm_choices() -> list[Choice]:
    return [
        Choice("oc:yes", _("✅ Save the order"), ("luu", "dong y", "ok", "co")),
        Choice("oc:no", _("Cancel"), ("khong", "thoi")),
    ]


def ask_confirm(ctx: Ctx) -> list[Reply]:
    listing = _listing(ctx)
    if listing is None:
        return [Reply(_("That product is no longer yours to record. Type /menu."))]
    qty = Decimal(ctx.data["qty"])
    text = fmt(
        _(
            "Save this order?\n{product}: {amount}, total {total}\nBuyer: {name}\nFrom: "
            "{channel}\nIt counts as confirmed and is taken from your stock."
        ),
        product=listing.product_name,
        amount=amount(qty, listing.unit),
        total=format_vnd(total_of(qty, listing.price)),
        name=ctx.data["name"],
        channel=_(CHANNEL_LABELS[ctx.data["channel"]]),
    )
    return ask_choice(text, _confirm_choices())


async def answer_confirm(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _confirm_choices())
    if choice is None:
        return Retry(_("Please tap Save or Cancel."))
    listing = _listing(ctx)
    if choice.key == "oc:no" or listing is None:
        return Done([Reply(_("Nothing was saved."))])
    try:
        order = ctx.services.orders.record_outside(
            listing,
            Decimal(ctx.data["qty"]),
            name=ctx.data["name"],
            phone=ctx.data.get("phone", ""),
            channel=ctx.data["channel"],
            form_id=ctx.form_id,
            now=ctx.now,
        )
    except OrderRefused as refused:
        if refused.reason == TOO_MUCH:
            text = fmt(
                _("Only {stock} is in stock now."), stock=amount(refused.available, listing.unit)
            )
            return Ask("qty", say=[Reply(text)])
        return Done([Reply(_("That product is no longer available."))])
    saved = fmt(_("✅ Saved as order {code}."), code=order.code)
    return Start("orders", say=[Reply(saved)])


def build() -> Flow:
    """The short form for orders taken elsewhere."""
    return Flow(
        name="order_out",
        first="listing",
        states={
            "listing": State(ask_listing, answer_listing, to=("qty", "orders/")),
            "qty": State(ask_qty, answer_qty, to=("buyer", "orders/")),
            "buyer": State(ask_buyer, answer_buyer, to=("phone",)),
            "phone": State(ask_phone, answer_phone, to=("channel",)),
            "channel": State(ask_channel, answer_channel, to=("confirm",)),
            "confirm": State(ask_confirm, answer_confirm, to=("qty", "orders/")),
        },
        commands={"ghidon": "listing"},
    )
