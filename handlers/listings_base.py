"""What the listing form's questions share: the answers as a draft listing, and what happens
after each answer (next question, back to the summary, or saving a stored listing)."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from bot.core.flow import Ask, Ctx, Done, Outcome, Start
from bot.core.fmt import fmt
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _
from bot.services.listings import ACTIVE, SOLD_OUT, Certs, Listing
from bot.services.orders import BELOW_SOLD, OrderRefused, stored_amount
from bot.services.search import amount, unit_label
from bot.services.share import Catalogs
from bot.text import display_phone, meaning, parse_number

log = logging.getLogger(__name__)

# The number a typed amount or price starts with ("0đ", "-45000", "0 kg"), to tell zeros
# and negatives apart from text that is no number at all.
_LEADING_NUMBER = re.compile(r"\s*(-?)\s*([0-9]+(?:[.,][0-9]+)*)")
FORM_FIELDS: tuple[str, ...] = ("product_id", "product_name", "grade", "quantity", "unit")
FORM_FIELDS += ("price", "availability", "photos", "certs", "description", "show_phone")
# The question after each one, when filling the form for the first time.
NEXT = {
    "product": "grade",
    "grade": "quantity",
    "quantity": "price",
    "price": "availability",
    "availability": "photos",
    "photos": "certs",
    "certs": "description",
    "cert_number": "description",
    "description": "summary",
}
EDITABLE = {
    "product": N_("Product"),
    "grade": N_("Grade / variety"),
    "quantity": N_("Quantity"),
    "price": N_("Price"),
    "availability": N_("Availability"),
    "photos": N_("Photos"),
    "certs": N_("Certifications"),
    "description": N_("Description"),
}


def cats(ctx: Ctx) -> Catalogs:
    """The content lists listing texts are made from."""
    return Catalogs(ctx.services.products, ctx.services.areas)


def form_data(listing: Listing) -> dict[str, Any]:
    """A stored listing as form answers (to edit one field of it)."""
    doc = listing.to_doc()
    return {k: doc[k] for k in FORM_FIELDS}


def apply_form(listing: Listing, data: dict[str, Any]) -> None:
    """Copy the form answers onto a listing."""
    for key in FORM_FIELDS:
        if key in data:
            value = data[key]
            setattr(listing, key, Certs(**value) if key == "certs" else value)


def draft(ctx: Ctx) -> Listing:
    """The listing the form describes so far (not stored)."""
    listing = Listing(farmer_id=ctx.user.id, area=ctx.user.area, form_id=ctx.form_id)
    apply_form(listing, ctx.data)
    listing.stock = listing.quantity
    return listing


def owner_phone(ctx: Ctx, listing: Listing) -> str:
    """The farmer's phone as buyers see it, only if she chose to show it."""
    if not listing.show_phone:
        return ""
    farmer = (
        ctx.user if ctx.user.id == listing.farmer_id else ctx.services.users.get(listing.farmer_id)
    )
    return display_phone(farmer.phone) if farmer and farmer.phone else ""


def skip_button() -> list[list[Button]]:
    """A "skip this question" button."""
    return [[Button(_("Skip"), "lf:skip")]]


def is_skip(msg: Incoming) -> bool:
    """Whether the user skipped an optional question (button or typed)."""
    if msg.kind == "button":
        return msg.payload == "lf:skip"
    typed = msg.text.strip() if msg.kind == "text" else ""
    return bool(typed) and meaning(typed) in ("skip", "unknown")


def next_state(ctx: Ctx, state: str) -> str:
    """The question after `state`, passing over those a one-sentence request answered."""
    prefilled = ctx.data.get("prefilled") or ()
    following = NEXT[state]
    while following in prefilled and following in NEXT:
        following = NEXT[following]
    if following == "price" and ctx.data.get("price_typed"):
        # A request's price ("bán na 40k/kg"): asked which unit if implausible for this one.
        from handlers.listings_price import implausible  # local: that module imports this

        typed, unit = int(ctx.data["price_typed"]), str(ctx.data.get("unit", "kg"))
        product_id = str(ctx.data.get("product_id", ""))
        if implausible(ctx.services.products, product_id, typed, unit):
            return "price_check"
        ctx.data["price"] = ctx.data.pop("price_typed")
        return next_state(ctx, "price")
    return following


async def after(ctx: Ctx, state: str, say: list[Reply] | None = None) -> Outcome:
    """After a field: the next question, back to the summary, or save the stored listing."""
    said = say or []
    if ctx.data.get("listing_id"):
        return save_existing(ctx, said)
    if ctx.data.get("editing"):
        return Ask("summary", said)
    return Ask(next_state(ctx, state), said)


def save_existing(ctx: Ctx, say: list[Reply]) -> Outcome:
    """Write an edited field to the stored listing (the owner's or an admin's only)."""
    repo = ctx.services.listings
    listing = repo.get(int(ctx.data["listing_id"]))
    if listing is None:
        return Done([Reply(_("This listing no longer exists."))])
    if listing.farmer_id != ctx.user.id and not ctx.is_admin:
        log.warning("user %s tried to edit listing %s of another user", ctx.user.id, listing.id)
        return Done([Reply(_("Sorry, you can only change your own listings."))])
    old_unit = listing.unit
    apply_form(listing, ctx.data)
    if ctx.data.get("quantity_changed"):
        # Checked again here, not only when the amount was typed: the farmer may confirm an
        # order (a notification button) between that answer and this save.
        problem = restock(ctx, listing, old_unit)
        if problem:
            return Ask("quantity", [*say, Reply(problem)])
    listing.updated_at = ctx.now.isoformat()
    repo.save(listing)
    return Start("mylistings", "view", {"id": listing.id}, say=[*say, Reply(_("Saved."))])


def quantity_problem(
    ctx: Ctx, listing_id: int, quantity: Decimal, unit: str, old_unit: str
) -> str:
    """Why a stored listing may not get this quantity ("" when it may).

    Confirmed, shipping and delivered orders keep what they took: the new quantity may not be
    less, nor in a unit their amounts cannot be counted in.
    """
    try:
        ctx.services.orders.stock_for(listing_id, quantity, unit)
    except OrderRefused as refused:
        if refused.reason == BELOW_SOLD:
            return fmt(
                _(
                    "Confirmed orders have already taken {sold} of this listing, so the "
                    "quantity cannot be less than that. Please type the whole amount you put "
                    "on sale, sold part included."
                ),
                sold=amount(refused.available, unit),
            )
        return fmt(
            _(
                "This listing has orders counted in {unit}. Please type the amount in {unit} "
                "(or another weight unit, if it is sold by weight)."
            ),
            unit=unit_label(old_unit),
        )
    return ""


def restock(ctx: Ctx, listing: Listing, old_unit: str) -> str:
    """Set a stored listing's stock from its new quantity: what orders took stays taken.

    Returns why it cannot be done ("" when done). A listing sold out gets back on sale when
    stock is added; one whose stock is all taken becomes sold out.
    """
    quantity = Decimal(listing.quantity)
    problem = quantity_problem(ctx, listing.id, quantity, listing.unit, old_unit)
    if problem:
        return problem
    stock = ctx.services.orders.stock_for(listing.id, quantity, listing.unit)
    listing.stock = stored_amount(stock)
    if stock <= 0 and listing.status == ACTIVE:
        listing.status = SOLD_OUT
    elif stock > 0 and listing.status == SOLD_OUT:
        listing.status = ACTIVE
    return ""


def not_positive(text: str) -> bool:
    """Whether typed text starts with a zero or negative number."""
    m = _LEADING_NUMBER.match(text)
    if m is None:
        return False
    value = parse_number(m[2])
    return bool(m[1]) or (value is not None and value <= 0)
