"""Finding listings to buy: loose product names, browsing by product or area, certifications."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz, process

from bot.core.fmt import esc, fmt
from bot.i18n import N_, _, format_number, format_vnd
from bot.services import listing_index
from bot.services.catalog import Directory
from bot.services.listing_index import OfferIndex
from bot.services.listings import Listing
from bot.text import UNITS, clip, fold

OTHER_PRODUCT = listing_index.OTHER_PRODUCT  # browse key of listings typed freely
CERTS: dict[str, str] = {
    "ocop": N_("OCOP"),
    "vietgap": N_("VietGAP"),
    "globalgap": N_("GlobalGAP"),
    "organic": N_("Organic"),
}
MIN_SCORE = 80.0
# Results this far below the best are dropped: "na lang son" finds na, not hồng Lạng Sơn.
SPREAD = 10.0
MIN_QUERY = 2
DESCRIPTION_MAX = 200


@dataclass(frozen=True)
class Filters:
    """What a buyer narrowed the results to; empty strings mean "any"."""

    text: str = ""
    product: str = ""
    area: str = ""
    cert: str = ""


def has_cert(listing: Listing, cert: str) -> bool:
    """Whether a listing carries a certification ("ocop", "vietgap", ...)."""
    c = listing.certs
    return {
        "ocop": c.ocop > 0,
        "vietgap": c.vietgap,
        "globalgap": c.globalgap,
        "organic": c.organic,
    }.get(cert, False)


def product_key(listing: Listing) -> str:
    """The browse key of a listing's product."""
    return listing.product_id or OTHER_PRODUCT


def _catalog_names(products: Directory, product_ids: list[str]) -> dict[str, list[str]]:
    """Folded names and aliases of these catalog products -> the products that carry them."""
    found: dict[str, list[str]] = {}
    for product_id in product_ids:
        entry = products.get(product_id)
        if entry is None:
            continue
        for name in {fold(n) for n in (entry.name, *entry.aliases)} - {""}:
            found.setdefault(name, []).append(product_id)
    return found


def _pool(offers: OfferIndex, filters: Filters) -> set[int] | None:
    """The offered ids passing the product, area and certification filters (None: no filter)."""
    wanted = [("product", filters.product), ("area", filters.area), ("cert", filters.cert)]
    sets = sorted((offers.ids(field, key) for field, key in wanted if key), key=len)
    if not sets:
        return None
    pool = set(sets[0])
    for other in sets[1:]:
        pool &= other
    return pool


def find(offers: OfferIndex, products: Directory, filters: Filters) -> list[int]:
    """Ids of the listings on sale for the filters, best match first (newest when no text).

    Results are remembered until the index next changes: each step of a results page asks
    more than once, and buyers page through the same search.
    """
    key = (id(products), filters)
    found: list[int] | None = offers.memo(key)
    if found is None:
        found = _find(offers, products, filters)
        offers.remember(key, found)
    return found


def _find(offers: OfferIndex, products: Directory, filters: Filters) -> list[int]:
    pool = _pool(offers, filters)
    query = fold(filters.text)
    if not query:
        return sorted(offers.offered() if pool is None else pool, reverse=True)
    if len(query) < MIN_QUERY:
        return []
    # Each distinct name is scored once; a listing scores its best name (its own, as typed,
    # or its catalog product's name and aliases).
    levels: dict[float, list[set[int]]] = {}
    names = offers.names()
    for name, score, _i in process.extract(
        query, names, scorer=fuzz.token_set_ratio, score_cutoff=MIN_SCORE, limit=None
    ):
        levels.setdefault(float(score), []).append(offers.ids("name", name))
    catalog = _catalog_names(products, [p for p in offers.counts("product") if p != OTHER_PRODUCT])
    for name, score, _i in process.extract(
        query, list(catalog), scorer=fuzz.token_set_ratio, score_cutoff=MIN_SCORE, limit=None
    ):
        for product_id in catalog[name]:
            levels.setdefault(float(score), []).append(offers.ids("product", product_id))
    found: list[int] = []
    seen: set[int] = set()
    top: float | None = None
    for score in sorted(levels, reverse=True):
        if top is not None and score < top - SPREAD:
            break
        level = set().union(*levels[score]) - seen
        if pool is not None:
            level &= pool
        if not level:
            continue
        top = score if top is None else top
        seen |= level
        found.extend(sorted(level, reverse=True))
    return found


def unit_label(unit: str) -> str:
    """How a canonical unit is written for people."""
    return UNITS.get(unit, unit)


def amount(value: Decimal, unit: str) -> str:
    """An amount with its unit, the Vietnamese way: 120 kg, 1,5 kg."""
    return f"{format_number(value)} {unit_label(unit)}"


def price_text(price: int, unit: str) -> str:
    """A price per unit: 45.000 ₫/kg."""
    return f"{format_vnd(price)}/{unit_label(unit)}"


def cert_text(listing: Listing) -> str:
    """The listing's certifications in one line (empty when none)."""
    c = listing.certs
    parts = []
    if c.ocop:
        parts.append(f"OCOP {c.ocop}★")
    parts.extend(_(CERTS[k]) for k in ("vietgap", "globalgap", "organic") if has_cert(listing, k))
    return ", ".join(parts)


def listing_card(listing: Listing, areas: Directory, available: Decimal) -> str:
    """What a buyer sees of a listing in the results."""
    title = esc(listing.product_name)
    if listing.grade:
        title += f" — {esc(listing.grade)}"
    lines = [
        f"<b>{title}</b>",
        fmt(_("Price: {price}"), price=price_text(listing.price, listing.unit)),
        fmt(_("From: {area}"), area=areas.name(listing.area) or "—"),
    ]
    certs = cert_text(listing)
    if certs:
        lines.append(fmt(_("Certified: {certs}"), certs=certs))
    lines.append(fmt(_("Available: {amount}"), amount=amount(available, listing.unit)))
    if listing.description:
        lines.append(f"<i>{esc(clip(listing.description, DESCRIPTION_MAX))}</i>")
    return "\n".join(lines)
