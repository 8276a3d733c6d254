"""The order form of "Mua hàng": quantity, name, phone, address, note, summary, confirm."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Outcome,
    Retry,
    State,
    ask_choice,
    is_text,
    match_choice,
)
from bot.core.fmt import fmt, label
from bot.core.types import Button, Incoming, Reply
from bot.i18n import _, format_vnd
from bot.services.listings import ACTIVE, Listing
from bot.services.order_notices import tell_farmer_new
from bot.services.orders import OWN, TOO_MUCH, OrderRefused, total_of
from bot.services.search import amount, price_text, unit_label
from bot.services.users import BUYER
from bot.text import (
    KG_PER_UNIT,
    Quantity,
    clean,
    display_phone,
    normalize_phone,
    parse_quantity,
)

log = logging.getLogger(__name__)

NAME_MAX = 64
ADDRESS_MIN = 5
ADDRESS_MAX = 300
NOTE_MAX = 300
_HAS_WORD = re.compile(r"\w")


def _listing(ctx: Ctx) -> Listing | None:
    listing = ctx.services.orders.listings.get(int(ctx.data.get("listing", 0)))
    return listing if listing is not None and listing.status == ACTIVE else None


def _gone() -> Done:
    return Done([Reply(_("Sorry, this product is no longer on sale."))])


def start(ctx: Ctx, listing_id: int) -> Outcome:
    """Begin ordering a listing picked from the results."""
    ctx.data["listing"] = listing_id
    listing = _listing(ctx)
    if listing is None or ctx.services.orders.available(listing) <= 0:
        return Retry(_("Sorry, that product is no longer on sale."))
    if listing.farmer_id == ctx.user.id:
        return Retry(_("This is your own product — you cannot order it."))
    for key in ("qty", "name", "phone", "address", "note"):
        ctx.data.pop(key, None)
    want = str(ctx.data.pop("want", ""))
    if want and isinstance(taken := _take_qty(ctx, listing, want), Ask):
        return taken  # "mua 10 kg na": the amount was said already and fits
    return Ask("qty")


# --- quantity -----------------------------------------------------------------------------


def in_unit(quantity: Quantity, unit: str) -> Decimal | None:
    """The quantity in the listing's unit (10 yến → 100 kg), or None if they do not convert."""
    if quantity.unit == unit:
        return quantity.amount
    if quantity.kg is not None and unit in KG_PER_UNIT:
        return quantity.kg / KG_PER_UNIT[unit]
    return None


def ask_qty(ctx: Ctx) -> list[Reply]:
    listing = _listing(ctx)
    if listing is None:
        return [Reply(_("Sorry, this product is no longer on sale. Type /menu."))]
    text = fmt(
        _(
            "How much <b>{product}</b> would you like? Price {price}; available "
            "{available}.\nType an amount, e.g. <i>10 {unit}</i>."
        ),
        product=listing.product_name,
        price=price_text(listing.price, listing.unit),
        available=amount(ctx.services.orders.available(listing), listing.unit),
        unit=unit_label(listing.unit),
    )
    return [Reply(text)]


async def answer_qty(ctx: Ctx, msg: Incoming) -> Outcome:
    listing = _listing(ctx)
    if listing is None:
        return _gone()
    unit = unit_label(listing.unit)
    if not is_text(msg):
        return Retry(fmt(_("Please type the amount as a number, e.g. 10 {unit}."), unit=unit))
    return _take_qty(ctx, listing, msg.text)


def _take_qty(ctx: Ctx, listing: Listing, text: str) -> Outcome:
    """Keep a typed amount if it can be ordered; otherwise say why."""
    unit = unit_label(listing.unit)
    parsed = parse_quantity(text, listing.unit)
    if parsed is None:
        return Retry(
            fmt(
                _("I could not read that amount. Please type a number above 0, e.g. 10 {unit}."),
                unit=unit,
            )
        )
    wanted = in_unit(parsed, listing.unit)
    if wanted is None:
        return Retry(
            fmt(
                _("This product is sold by the {unit}. Please type the amount in {unit}."),
                unit=unit,
            )
        )
    free = ctx.services.orders.available(listing)
    if free <= 0:
        return _gone()
    if wanted > free:
        return Retry(
            fmt(
                _("Only {available} is available. Please type a smaller amount."),
                available=amount(free, listing.unit),
            )
        )
    ctx.data["qty"] = str(wanted)
    return Ask("name")


# --- name ---------------------------------------------------------------------------------


def ask_name(ctx: Ctx) -> list[Reply]:
    buttons = []
    if ctx.user.name:
        buttons = [[Button(label(_("Use: {name}"), name=ctx.user.name)[:60], "nm:keep")]]
    if not ctx.user.registered:  # a buyer from a shared link: this is all the registering
        text = _("What is your name? The seller sees it with your order.")
        return [Reply(text, buttons=buttons)]
    return [Reply(_("Who is the order for? Type the receiver's name."), buttons=buttons)]


async def answer_name(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "button" and msg.payload == "nm:keep" and ctx.user.name:
        ctx.data["name"] = ctx.user.name
        return Ask("phone")
    name = clean(msg.text) if is_text(msg) else ""
    if not _HAS_WORD.search(name):
        return Retry(_("Please type the receiver's name in letters."))
    if len(name) > NAME_MAX:
        return Retry(
            fmt(_("That is too long for a name (at most {max} characters)."), max=NAME_MAX)
        )
    ctx.data["name"] = name
    if not ctx.user.registered:
        ctx.user.name = name
        ctx.services.users.save(ctx.user)
    return Ask("phone")


# --- phone --------------------------------------------------------------------------------


def ask_phone(ctx: Ctx) -> list[Reply]:
    text = _(
        "Which phone number should the seller call about this order? Share it, or type it "
        "(e.g. 0912 345 678)."
    )
    # Telegram shows one keyboard per message: the share button and the inline one go apart.
    replies = [Reply(text, request_contact=_("📱 Share my phone number"))]
    if ctx.user.phone:
        keep = label(_("Use: {phone}"), phone=display_phone(ctx.user.phone))
        replies.append(
            Reply(_("Or the number in your profile:"), buttons=[[Button(keep, "ph:keep")]])
        )
    return replies


async def answer_phone(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "button" and msg.payload == "ph:keep" and ctx.user.phone:
        ctx.data["phone"] = ctx.user.phone
        return Ask("address")
    raw = msg.phone if msg.kind == "contact" else msg.text if msg.kind == "text" else ""
    phone = normalize_phone(raw) if raw else None
    if phone is None:
        return Retry(
            _(
                "That does not look like a Vietnamese mobile number. Please type 10 digits, "
                "e.g. 0912 345 678."
            )
        )
    ctx.data["phone"] = phone
    if not ctx.user.registered:
        _register_buyer(ctx, phone)
    return Ask("address")


def _register_buyer(ctx: Ctx, phone: str) -> None:
    """Register a buyer who came from a shared link: a name and a phone are enough."""
    user = ctx.user
    user.name = user.name or ctx.data.get("name", "")
    user.phone, user.role, user.registered = phone, BUYER, True
    ctx.services.users.save(user)


# --- address and note ---------------------------------------------------------------------


def ask_address(ctx: Ctx) -> list[Reply]:
    return [
        Reply(
            _(
                "Where should it be delivered? Type the full address (house number, street, "
                "commune, province)."
            )
        )
    ]


async def answer_address(ctx: Ctx, msg: Incoming) -> Outcome:
    address = clean(msg.text) if is_text(msg) else ""
    if len(address) < ADDRESS_MIN or not _HAS_WORD.search(address):
        return Retry(
            _("Please type the delivery address in words, e.g. 12 Trần Đăng Ninh, Lạng Sơn.")
        )
    if len(address) > ADDRESS_MAX:
        return Retry(
            fmt(_("That address is too long (at most {max} characters)."), max=ADDRESS_MAX)
        )
    ctx.data["address"] = address
    return Ask("note")


def ask_note(ctx: Ctx) -> list[Reply]:
    text = _("Any note for the seller (delivery time, packing...)? Type it, or tap Skip.")
    return [Reply(text, buttons=[[Button(_("Skip"), "nt:skip")]])]


async def answer_note(ctx: Ctx, msg: Incoming) -> Outcome:
    if msg.kind == "button" and msg.payload == "nt:skip":
        ctx.data["note"] = ""
        return Ask("confirm")
    note = clean(msg.text) if is_text(msg) else ""
    if not note:
        return Retry(_("Please type a note, or tap Skip."))
    if len(note) > NOTE_MAX:
        return Retry(fmt(_("That note is too long (at most {max} characters)."), max=NOTE_MAX))
    ctx.data["note"] = note
    return Ask("confirm")


# --- summary and confirm ------------------------------------------------------------------


def _confirm_choices() -> list[Choice]:
    return [
        Choice("cf:yes", _("✅ Place the order"), ("dat hang", "dong y", "xac nhan", "ok", "co")),
        Choice("cf:qty", _("Change the amount"), ("sua so luong",)),
        Choice("cf:addr", _("Change the address"), ("sua dia chi",)),
        Choice("cf:no", _("Cancel"), ("khong", "thoi")),
    ]


def ask_confirm(ctx: Ctx) -> list[Reply]:
    listing = _listing(ctx)
    if listing is None:
        return [Reply(_("Sorry, this product is no longer on sale. Type /menu."))]
    qty = Decimal(ctx.data["qty"])
    lines = [
        _("<b>Please check your order:</b>"),
        fmt(
            _("{product}: {amount} × {price}"),
            product=listing.product_name,
            amount=amount(qty, listing.unit),
            price=price_text(listing.price, listing.unit),
        ),
        fmt(_("Total: <b>{total}</b>"), total=format_vnd(total_of(qty, listing.price))),
        fmt(
            _("Receiver: {name}, {phone}"),
            name=ctx.data["name"],
            phone=display_phone(ctx.data["phone"]),
        ),
        fmt(_("Deliver to: {address}"), address=ctx.data["address"]),
    ]
    if ctx.data.get("note"):
        lines.append(fmt(_("Note: {note}"), note=ctx.data["note"]))
    lines.append(_("Payment and shipping are agreed with the seller, who will confirm."))
    return ask_choice("\n".join(lines), _confirm_choices())


async def answer_confirm(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _confirm_choices())
    if choice is None:
        return Retry(_("Please tap a button: place the order, change it, or cancel."))
    if choice.key == "cf:no":
        return Done([Reply(_("The order was not placed."))])
    if choice.key == "cf:qty":
        return Ask("qty")
    if choice.key == "cf:addr":
        return Ask("address")
    return await _place(ctx)


async def _place(ctx: Ctx) -> Outcome:
    orders = ctx.services.orders
    # A confirm repeated after a crash finds the order already placed (same form): it is shown
    # again, but the farmer is not told twice.
    placed_before = orders.by_form(ctx.form_id) is not None
    try:
        order = orders.place(
            int(ctx.data["listing"]),
            ctx.user,
            Decimal(ctx.data["qty"]),
            name=ctx.data["name"],
            phone=ctx.data["phone"],
            address=ctx.data["address"],
            note=ctx.data.get("note", ""),
            form_id=ctx.form_id,
            now=ctx.now,
        )
    except OrderRefused as refused:
        if refused.reason == TOO_MUCH:
            listing = _listing(ctx)
            unit = listing.unit if listing else "kg"
            text = fmt(
                _("Sorry, someone ordered first: only {available} is left now."),
                available=amount(refused.available, unit),
            )
            return Ask("qty", say=[Reply(text)])
        if refused.reason == OWN:
            return Done([Reply(_("This is your own product — you cannot order it."))])
        return Done(
            [
                Reply(
                    _(
                        "Sorry, this product is no longer available — someone else ordered "
                        "the last of it."
                    )
                )
            ]
        )
    if not placed_before and not await tell_farmer_new(ctx.services, order):
        log.warning("order %s: the farmer could not be notified now", order.id)
    text = fmt(
        _(
            "✅ Your order <b>{code}</b> is placed. The seller will confirm it soon; you will "
            "get a message at each step. See it any time under “My orders”, or follow it "
            "here without signing in: {url}"
        ),
        code=order.code,
        url=ctx.services.links.order_status(order.token),
    )
    return Done([Reply(text)])


STATES = {
    "qty": State(ask_qty, answer_qty, to=("name",)),
    "name": State(ask_name, answer_name, to=("phone",)),
    "phone": State(ask_phone, answer_phone, to=("address",)),
    "address": State(ask_address, answer_address, to=("note",)),
    "note": State(ask_note, answer_note, to=("confirm",)),
    "confirm": State(ask_confirm, answer_confirm, to=("address", "qty")),
}
