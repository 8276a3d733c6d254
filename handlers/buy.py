"""Mua hàng: find a product by typing it loosely or browsing, then order it (handlers/buy_form).

The search is kept in the form (text and filters), never the results: each page is worked out
again when shown, so a listing sold out meanwhile simply drops out. Results come from the offer
index in memory (bot/services/listing_index); only the shown page's listings are loaded.
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
    State,
    ask_choice,
    choice_buttons,
    is_text,
    match_choice,
)
from bot.core.fmt import fmt, label
from bot.core.types import Incoming, Reply
from bot.i18n import N_, _
from bot.services.listing_index import OfferIndex
from bot.services.listings import Listing
from bot.services.search import CERTS, OTHER_PRODUCT, Filters, find, listing_card
from bot.text import clip
from handlers import buy_form, buy_link

PAGE_SIZE = 5
QUERY_MAX = 100
BROWSE_MAX = 20  # products or areas offered as buttons


def _filters(ctx: Ctx) -> Filters:
    d = ctx.data
    return Filters(d.get("q", ""), d.get("product", ""), d.get("area", ""), d.get("cert", ""))


def _offers(ctx: Ctx) -> OfferIndex:
    """Active listings with something left to order."""
    return ctx.services.listings.offers


def _results(ctx: Ctx) -> list[int]:
    """Ids of the listings found, in the order they are shown."""
    return find(_offers(ctx), ctx.services.products, _filters(ctx))


def _cert_label(ctx: Ctx) -> str:
    cert = ctx.data.get("cert", "")
    current = _(CERTS[cert]) if cert in CERTS else _("any")
    return fmt(_("🏅 Certification: {cert}"), cert=current)


# --- find ---------------------------------------------------------------------------------


def _find_choices(ctx: Ctx) -> list[Choice]:
    return [
        Choice("f:prod", _("Browse by product"), ("san pham", "theo san pham")),
        Choice("f:area", _("Browse by commune"), ("theo xa", "xa", "dia phuong")),
        Choice("f:all", _("Everything on sale"), ("tat ca", "xem het")),
        Choice("f:cert", _cert_label(ctx), ("chung nhan", "ocop", "vietgap")),
        Choice("f:back", _("Back to menu"), ("quay lai", "tro ve")),
    ]


def ask_find(ctx: Ctx) -> list[Reply]:
    text = _(
        "What would you like to buy? Type a product name, with or without accents "
        "(e.g. <i>na chi lang</i>, <i>hong</i>, <i>thach den</i>), or browse:"
    )
    return ask_choice(text, _find_choices(ctx))


async def answer_find(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _find_choices(ctx))
    if choice is not None:
        return _browse(ctx, choice.key)
    if not is_text(msg):
        return Retry(_("Please type the name of a product, or pick one of the buttons."))
    return _text_search(ctx, msg.text)


def _browse(ctx: Ctx, key: str) -> Outcome:
    if key == "f:back":
        return Done()
    if key == "f:cert":
        ctx.data["from"] = "find"
        return Ask("cert")
    ctx.data.update(q="", product="", area="", page=0)
    if key == "f:all":
        return Ask("results") if _results(ctx) else Retry(_("Nothing is on sale right now."))
    return Ask("product" if key == "f:prod" else "area")


def _text_search(ctx: Ctx, text: str) -> Outcome:
    query = " ".join(text.split())[:QUERY_MAX]
    ctx.data.update(q=query, product="", area="", page=0)
    if _results(ctx):
        return Ask("results")
    if ctx.data.get("cert"):
        return Retry(
            fmt(
                _(
                    "Nothing with that certification matches “{q}”. Try another name, or "
                    "change the filter."
                ),
                q=clip(query, 40),
            )
        )
    return Retry(
        fmt(
            _("Nothing on sale matches “{q}” right now. Try another name, or browse."),
            q=clip(query, 40),
        )
    )


# --- browse by product / area -------------------------------------------------------------


def _product_choices(ctx: Ctx) -> list[Choice]:
    counts = _offers(ctx).counts("product")
    names = ctx.services.products
    other = _("Other products")
    keys = sorted(counts, key=lambda k: (k == OTHER_PRODUCT, names.name(k)))[:BROWSE_MAX]
    choices = [
        Choice(
            f"p:{k}",
            f"{other if k == OTHER_PRODUCT else names.name(k)} ({counts[k]})",
        )
        for k in keys
    ]
    return [*choices, Choice("p:back", _("Back"), ("quay lai",))]


def ask_product(ctx: Ctx) -> list[Reply]:
    choices = _product_choices(ctx)
    if len(choices) == 1:
        return ask_choice(_("Nothing is on sale right now."), choices)
    return ask_choice(_("Which product? (number on sale in brackets)"), choices)


async def answer_product(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _product_choices(ctx))
    if choice is None:
        if is_text(msg) and not msg.text.strip().isdigit():
            return _text_search(ctx, msg.text)
        return Retry(_("Please pick a product from the list."))
    if choice.key == "p:back":
        return Ask("find")
    ctx.data.update(product=choice.key.removeprefix("p:"), page=0)
    return Ask("results")


def _area_choices(ctx: Ctx) -> list[Choice]:
    counts = {k: n for k, n in _offers(ctx).counts("area").items() if k}
    areas = ctx.services.areas
    keys = sorted(counts, key=areas.name)[:BROWSE_MAX]
    choices = [Choice(f"a:{k}", f"{areas.name(k)} ({counts[k]})") for k in keys]
    return [*choices, Choice("a:back", _("Back"), ("quay lai",))]


def ask_area(ctx: Ctx) -> list[Reply]:
    choices = _area_choices(ctx)
    if len(choices) == 1:
        return ask_choice(_("Nothing is on sale right now."), choices)
    return ask_choice(_("Which commune? (number on sale in brackets)"), choices, columns=2)


async def answer_area(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _area_choices(ctx))
    if choice is None:
        return Retry(_("Please pick a commune from the list."))
    if choice.key == "a:back":
        return Ask("find")
    ctx.data.update(area=choice.key.removeprefix("a:"), page=0)
    return Ask("results")


# --- certification filter ------------------------------------------------------------------


def _cert_choices() -> list[Choice]:
    return [
        Choice("c:any", _("Any (no filter)"), ("bat ky", "tat ca", "khong loc")),
        *(Choice(f"c:{key}", _(label), (key,)) for key, label in CERTS.items()),
    ]


def ask_cert(ctx: Ctx) -> list[Reply]:
    return ask_choice(_("Show only products with which certification?"), _cert_choices())


async def answer_cert(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _cert_choices())
    if choice is None:
        return Retry(_("Please pick a certification from the list."))
    cert = choice.key.removeprefix("c:")
    ctx.data.update(cert="" if cert == "any" else cert, page=0)
    if ctx.data.get("from") != "results":
        return Ask("find")
    if _results(ctx):
        return Ask("results")
    return Ask("find", say=[Reply(_("Nothing matches with that filter."))])


# --- results ------------------------------------------------------------------------------


def _page(ctx: Ctx) -> tuple[list[Listing], int, int]:
    """The listings of the current page, the page number and how many pages."""
    found = _results(ctx)
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(max(int(ctx.data.get("page", 0)), 0), pages - 1)
    ids = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    return ctx.services.listings.on_sale(ids), page, pages


def _result_choices(ctx: Ctx) -> list[Choice]:
    shown, page, pages = _page(ctx)
    choices = [
        Choice(f"o:{item.id}", label(_("🛒 Order: {name}"), name=clip(item.product_name, 40)))
        for item in shown
    ]
    if page + 1 < pages:
        choices.append(Choice("r:next", _("Next page ▶"), ("tiep", "trang sau", "xem them")))
    if page > 0:
        choices.append(Choice("r:prev", _("◀ Previous page"), ("truoc", "trang truoc")))
    choices += [
        Choice("r:cert", _cert_label(ctx), ("chung nhan", "loc")),
        Choice("r:new", _("New search"), ("tim lai", "tim khac")),
        Choice("r:back", _("Back to menu"), ("quay lai", "tro ve")),
    ]
    return choices


def ask_results(ctx: Ctx) -> list[Reply]:
    shown, page, pages = _page(ctx)
    orders = ctx.services.orders
    replies = []
    for n, item in enumerate(shown, 1):  # the same numbers as the 🛒 buttons below
        card = listing_card(item, ctx.services.areas, orders.available(item))
        replies.append(Reply(f"{n}. {card}", photos=item.photos[:1]))
    if not shown:
        replies.append(Reply(_("Nothing matches any more.")))
    nav = fmt(
        _("Page {page} of {pages}. Tap 🛒 to order, or type another product name."),
        page=page + 1,
        pages=pages,
    )
    replies.append(Reply(nav, buttons=choice_buttons(_result_choices(ctx))))
    return replies


async def answer_results(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _result_choices(ctx))
    if choice is None:
        if msg.kind == "button" and msg.payload.startswith("o:"):
            return Retry(_("Sorry, that product is no longer on sale."))
        if is_text(msg) and not msg.text.strip().isdigit():
            return _text_search(ctx, msg.text)
        return Retry(_("Please tap 🛒 under a product, or type another product name."))
    key = choice.key
    if key in ("r:next", "r:prev"):
        ctx.data["page"] = int(ctx.data.get("page", 0)) + (1 if key == "r:next" else -1)
        return Ask("results", redraw=True)
    if key == "r:cert":
        ctx.data["from"] = "results"
        return Ask("cert")
    if key == "r:new":
        return Ask("find")
    if key == "r:back":
        return Done()
    return buy_form.start(ctx, int(key.removeprefix("o:")))


def build() -> Flow:
    """The buying flow: search, results, then the order form."""
    return Flow(
        name="buy",
        first="find",
        states={
            "find": State(ask_find, answer_find, to=("product", "area", "cert", "results")),
            "product": State(ask_product, answer_product, to=("find", "results")),
            "area": State(ask_area, answer_area, to=("find", "results")),
            "cert": State(ask_cert, answer_cert, to=("find", "results")),
            "results": State(ask_results, answer_results, to=("cert", "find", "qty", "name")),
            **buy_form.STATES,
            **buy_link.STATES,
        },
        commands={"mua": "find", "buy": "find", "timkiem": "find"},
        menu=MenuEntry("buy", N_("🛒 Buy products"), 30, words=("mua hang", "mua", "tim mua")),
        link=buy_link.open_listing,
        guests=True,  # a buyer from a shared link orders first, registers inside the form
    )
