"""Finding listings to buy: loose product names, browsing by product or area, certifications."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz, process

from bot.core.fmt import esc, fmt
from bot.i18n import N_, _, format_number, format_vnd
from bot.services.catalog import Directory
from bot.services.listings import Listing
from bot.text import UNITS, clip, fold

OTHER_PRODUCT = "_other"  # browse key of listings typed freely (no catalog product)
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


def _catalog_names(products: Directory, product_id: str) -> frozenset[str]:
    """The folded name and aliases of a catalog product."""
    entry = products.get(product_id) if product_id else None
    if entry is None:
        return frozenset()
    return frozenset(fold(n) for n in (entry.name, *entry.aliases))


def matches_filters(listing: Listing, filters: Filters) -> bool:
    """Whether a listing passes the product, area and certification filters."""
    if filters.product and product_key(listing) != filters.product:
        return False
    if filters.area and listing.area != filters.area:
        return False
    return not filters.cert or has_cert(listing, filters.cert)


def search(listings: list[Listing], products: Directory, filters: Filters) -> list[Listing]:
    """Listings for the filters, best match first (newest first when no text was typed)."""
    pool = [item for item in listings if matches_filters(item, filters)]
    query = fold(filters.text)
    if not query:
        return sorted(pool, key=lambda item: -item.id)
    if len(query) < MIN_QUERY:
        return []
    # Many listings share a product: each distinct name is scored once.
    owners: dict[str, list[int]] = {}
    known: dict[tuple[str, str], frozenset[str]] = {}
    for i, item in enumerate(pool):
        key = (item.product_id, item.product_name)
        if key not in known:
            names = {fold(item.product_name), *_catalog_names(products, item.product_id)}
            known[key] = frozenset(names - {""})
        for name in known[key]:
            owners.setdefault(name, []).append(i)
    keys = list(owners)
    found = process.extract(
        query, keys, scorer=fuzz.token_set_ratio, score_cutoff=MIN_SCORE, limit=None
    )
    best: dict[int, float] = {}
    for _key, score, index in found:
        for owner in owners[keys[index]]:
            best[owner] = max(best.get(owner, 0.0), float(score))
    if not best:
        return []
    top = max(best.values())
    kept = [(score, pool[i]) for i, score in best.items() if score >= top - SPREAD]
    return [item for _score, item in sorted(kept, key=lambda p: (-p[0], -p[1].id))]


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
