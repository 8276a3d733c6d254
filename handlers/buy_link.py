"""A shared listing opened straight from a link, a QR code or a typed code ("MUA 7K3QX").

Anyone may open it, registered or not: the buyer sees the card with its photo and an order
button; a new buyer gives only a name and a phone, inside the order form (handlers/buy_form).
A listing no longer on sale says so and offers others of the same product.
"""

from __future__ import annotations

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Outcome,
    Retry,
    Start,
    State,
    ask_choice,
    match_choice,
)
from bot.core.fmt import fmt
from bot.core.types import Incoming, Reply
from bot.i18n import _
from bot.services.search import Filters, find, listing_card
from handlers import buy_form

SIMILAR_MAX = 5  # listings of the same product offered in place of one no longer on sale


async def open_listing(ctx: Ctx, slug: str) -> Outcome:
    """Show the listing behind a slug, or say it is gone and show similar ones."""
    listing = ctx.services.listings.by_slug(slug)
    if listing is not None and ctx.services.orders.available(listing) > 0:
        return Start("buy", "listing", {"listing": listing.id})
    gone = fmt(
        _(
            "Sorry, the product with code {code} is no longer on sale: the seller removed it "
            "or sold it all."
        ),
        code=slug,
    )
    product = listing.product_id if listing is not None else ""
    if product and find(ctx.services.listings.offers, ctx.services.products, Filters("", product)):
        similar = _("Here are similar products on sale now:")
        data = {"q": "", "product": product, "area": "", "cert": "", "page": 0}
        return Start("buy", "results", data, say=[Reply(f"{gone}\n{similar}")])
    return Start("buy", "find", say=[Reply(gone)])


def _choices() -> list[Choice]:
    return [
        Choice("l:order", _("🛒 Order this"), ("dat", "dat hang", "mua", "order")),
        Choice("l:find", _("🔎 Other products"), ("tim", "tim khac", "san pham khac")),
        Choice("l:menu", _("Main menu"), ("menu",)),
    ]


def ask_listing(ctx: Ctx) -> list[Reply]:
    listing = ctx.services.listings.get(int(ctx.data.get("listing", 0)))
    if listing is None:
        return ask_choice(_("Sorry, this product is no longer on sale."), _choices()[1:])
    available = ctx.services.orders.available(listing)
    card = listing_card(listing, ctx.services.areas, available)
    if listing.certs.number:
        card += "\n" + fmt(_("Certificate no.: {number}"), number=listing.certs.number)
    reply = ask_choice(card, _choices())[0]
    reply.photos = listing.photos[:1]
    return [reply]


async def answer_listing(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _choices())
    if choice is None:
        return Retry(_("Please tap “Order this”, or type 1 to order."))
    if choice.key == "l:find":
        return Ask("find")
    if choice.key == "l:menu":
        return Done()
    return buy_form.start(ctx, int(ctx.data.get("listing", 0)))


STATES = {"listing": State(ask_listing, answer_listing, to=("find", "qty", "name"))}
