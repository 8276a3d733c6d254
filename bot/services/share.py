"""How a listing is shown: the buyer's card, ready-to-paste posts, marketplace CSV, QR code."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import segno

from bot.core.fmt import esc
from bot.csv_cells import defuse
from bot.i18n import N_, _, format_number, format_vnd
from bot.private_files import write_private
from bot.services.catalog import Directory, Entry
from bot.services.deeplinks import DeepLinks
from bot.services.listings import ACTIVE, AVAILABLE_NOW, PAUSED, SOLD_OUT, Certs, Listing
from bot.text import KG_PER_UNIT, UNITS, clip, hashtag

# Caption limits of each platform (characters). Zalo: a chat message holds 2,000, and posts
# are mostly pasted into chats and groups. Facebook allows far longer posts, but past ~5,000
# nobody reads on; TikTok captions allow 2,200 (4,000 in some apps): we keep to 2,000.
ZALO_POST_MAX = 2000
FACEBOOK_POST_MAX = 5000
TIKTOK_POST_MAX = 2000
PLATFORMS = {"zalo": ZALO_POST_MAX, "facebook": FACEBOOK_POST_MAX, "tiktok": TIKTOK_POST_MAX}
TIKTOK_HASHTAGS = 5  # more than a handful reads as spam on a short video caption
HASHTAG_MAX = 30
PROVINCE = "Lạng Sơn"
CSV_NAME = "tin-dang.csv"

CATEGORIES = {
    "trai-cay": N_("Fruit"),
    "rau-cu": N_("Vegetables"),
    "gia-vi": N_("Spices"),
    "che": N_("Tea"),
    "dac-san-che-bien": N_("Processed specialties"),
    "luong-thuc": N_("Grains"),
    "chan-nuoi": N_("Livestock"),
}
CSV_COLUMNS = (
    N_("Product name"),
    N_("Category"),
    N_("Price (VND)"),
    N_("Unit"),
    N_("Stock"),
    N_("Description"),
    N_("Origin"),
    N_("Certifications"),
    N_("Photos"),
    N_("Status"),
    N_("Link"),
    N_("Listing id"),
)
STATUS_LABELS = {ACTIVE: N_("on sale"), PAUSED: N_("paused"), SOLD_OUT: N_("sold out")}


@dataclass(frozen=True)
class Catalogs:
    """The content lists a listing's text is made from."""

    products: Directory
    areas: Directory


def unit_name(unit: str) -> str:
    """A canonical unit as people write it ("g" → "gam")."""
    return UNITS.get(unit, unit)


def amount_text(value: str) -> str:
    """A stored Decimal amount, Vietnamese style ("1,5")."""
    try:
        return format_number(Decimal(value))
    except InvalidOperation:
        return value


def price_text(listing: Listing) -> str:
    """The price per unit: "45.000 ₫/kg", or "4.000.000 ₫/tạ (40.000 ₫/kg)" by the tạ."""
    text = f"{format_vnd(listing.price)}/{unit_name(listing.unit)}"
    kg = KG_PER_UNIT.get(listing.unit)
    if kg is not None and kg > 1 and listing.price:
        # Buyers and farmers think in kg: "4 triệu a tạ" is easier read as 40.000 a kg.
        per_kg = int((Decimal(listing.price) / kg).to_integral_value(ROUND_HALF_UP))
        text += f" ({format_vnd(per_kg)}/kg)"
    return text


def certs_text(certs: Certs) -> str:
    """Certifications as one line ("OCOP 4 stars, VietGAP"), "" when none."""
    parts = []
    if certs.ocop:
        parts.append(_("OCOP {stars} stars").format(stars=certs.ocop))
    if certs.vietgap:
        parts.append("VietGAP")
    if certs.globalgap:
        parts.append("GlobalGAP")
    if certs.organic:
        parts.append(_("organic"))
    return ", ".join(parts)


def availability_text(listing: Listing) -> str:
    """When the product is available, in the reader's language."""
    if not listing.availability or listing.availability == AVAILABLE_NOW:
        return _("available now")
    return listing.availability


def product_entry(listing: Listing, cats: Catalogs) -> Entry | None:
    """The content entry of a listed specialty (None when typed freely)."""
    return cats.products.get(listing.product_id) if listing.product_id else None


def origin_text(listing: Listing, cats: Catalogs) -> str:
    """Where the product comes from: the farmer's commune and the province."""
    area = cats.areas.name(listing.area) if listing.area else ""
    return f"{area}, {PROVINCE}" if area else PROVINCE


def status_text(listing: Listing) -> str:
    """The listing's status in words."""
    return _(STATUS_LABELS.get(listing.status, listing.status))


def title(listing: Listing) -> str:
    """Product name with its grade: "Na Chi Lăng (loại 1)"."""
    return f"{listing.product_name} ({listing.grade})" if listing.grade else listing.product_name


def card_text(listing: Listing, cats: Catalogs, phone: str = "") -> str:
    """The listing as buyers see it (HTML, every typed value escaped)."""
    lines = [f"<b>{esc(title(listing))}</b>"]
    if listing.status != ACTIVE:
        lines.append("⏸ " + esc(status_text(listing)))
    lines.append("💰 " + esc(price_text(listing)))
    stock = f"{amount_text(listing.stock)} {unit_name(listing.unit)}"
    lines.append("📦 " + _("In stock: {amount}").format(amount=esc(stock)))
    lines.append("🗓 " + _("Available: {when}").format(when=esc(availability_text(listing))))
    lines.append("📍 " + _("Origin: {origin}").format(origin=esc(origin_text(listing, cats))))
    if listing.certs.any():
        cert = certs_text(listing.certs)
        if listing.certs.number:
            cert += " — " + _("certificate no. {number}").format(number=listing.certs.number)
        lines.append("🏅 " + esc(cert))
    if listing.description:
        lines.append("📝 " + esc(listing.description))
    if listing.photos:
        lines.append("📷 " + _("{count} photo(s)").format(count=len(listing.photos)))
    if phone:
        lines.append("📞 " + esc(phone))
    return "\n".join(lines)


# --- links and QR -------------------------------------------------------------------------


def public_url(base_url: str, slug: str) -> str:
    """The listing's public traceability page."""
    return f"{base_url.rstrip('/')}/p/{slug}"


def order_lines(listing: Listing, links: DeepLinks) -> list[str]:
    """The ways to order, web link first (most buyers come from Zalo and Facebook)."""
    lines = ["👉 " + _("Order: {url}").format(url=links.page(listing.slug))]
    telegram = links.telegram(listing.slug)
    if telegram:
        lines.append("✈️ " + _("Telegram: {url}").format(url=telegram))
    code = links.code(listing.slug)
    lines.append("💬 " + _("Or type “{code}” to the Nông Dân Số chat on Zalo").format(code=code))
    return lines


def qr_code(url: str) -> segno.QRCode:
    """A regular (never micro) QR code for `url`, medium error correction for print."""
    return segno.make_qr(url, error="m")


def qr_png(url: str) -> bytes:
    """The QR code of `url` as a PNG big enough to print on a label."""
    out = io.BytesIO()
    qr_code(url).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def write_qr(media_dir: Path, listing_id: int, url: str) -> str:
    """Write the listing's QR PNG into the media dir; return its photo ref ("media:...")."""
    name = f"qr-{listing_id}.png"
    png = qr_png(url)
    path = media_dir / name
    if not path.is_file() or path.read_bytes() != png:  # unchanged: Telegram keeps its file_id
        write_private(path, png)  # a reader never sees half a file
    return f"media:{name}"


def qr_file(media_dir: Path, listing_id: int) -> Path:
    """Where a listing's QR PNG is kept."""
    return media_dir / f"qr-{listing_id}.png"


# --- ready-to-paste posts -----------------------------------------------------------------


def hashtags(listing: Listing, cats: Catalogs) -> list[str]:
    """Fitting hashtags: the specialty's own, its certifications, the province."""
    entry = product_entry(listing, cats)
    tags = list(entry.get("hashtags") or ()) if entry else [hashtag(listing.product_name)]
    tags.append("#LangSon")
    if listing.certs.ocop:
        tags.append("#OCOP")
    if listing.certs.vietgap:
        tags.append("#VietGAP")
    if listing.certs.globalgap:
        tags.append("#GlobalGAP")
    seen: set[str] = set()
    out = []
    for tag in tags:
        if tag and len(tag) <= HASHTAG_MAX and tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag)
    return out


def _fit(lines: list[str], description: str, limit: int, at: int) -> str:
    """Join lines with the description inserted at `at`, clipped so the whole fits `limit`."""
    base = "\n".join(lines)
    room = limit - len(base) - 1
    if description and room > 20:
        lines = [*lines[:at], clip(description, room), *lines[at:]]
    return clip("\n".join(lines), limit)


def post_text(
    platform: str, listing: Listing, cats: Catalogs, links: DeepLinks, phone: str = ""
) -> str:
    """A plain-text post for `platform` (zalo, facebook, tiktok) within its length limit."""
    limit = PLATFORMS[platform]
    url = links.page(listing.slug)
    tags = hashtags(listing, cats)
    price = _("Price: {price}").format(price=price_text(listing))
    origin = _("From: {origin}").format(origin=origin_text(listing, cats))
    certs = certs_text(listing.certs)
    order = _("Order: {url}").format(url=url)
    call = _("Call/Zalo: {phone}").format(phone=phone) if phone else ""
    if platform == "tiktok":
        head = f"{title(listing)} · {price_text(listing)} · {origin_text(listing, cats)}"
        typed = order_lines(listing, links)[-1]  # links are not clickable in a caption
        lines = [head, *([certs] if certs else []), order, typed, *([call] if call else [])]
        lines.append(" ".join(tags[:TIKTOK_HASHTAGS]))
        return _fit(lines, clip(listing.description, 150), limit, 1)
    stock = f"{amount_text(listing.stock)} {unit_name(listing.unit)}"
    lines = [f"🌿 {title(listing)}", f"💰 {price}", f"📍 {origin}"]
    lines.append("📦 " + _("In stock: {amount}").format(amount=stock))
    lines.append("🗓 " + _("Available: {when}").format(when=availability_text(listing)))
    if certs:
        number = listing.certs.number
        if platform == "facebook" and number:
            certs += " — " + _("certificate no. {number}").format(number=number)
        lines.append(f"🏅 {certs}")
    at = len(lines)
    lines.extend(order_lines(listing, links))
    if call:
        lines.append(f"📞 {call}")
    if platform == "facebook":
        lines.append(_("Scan the QR code on the package to see where it comes from."))
    lines.append(" ".join(tags))
    return _fit(lines, listing.description, limit, at)


# --- marketplace export -------------------------------------------------------------------


def _cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (CSV injection)."""
    return defuse(value)


def photo_refs(listing: Listing, base_url: str) -> list[str]:
    """A public URL for each photo, whatever app it was sent from (the page's photo route)."""
    base = base_url.rstrip("/")
    return [
        p if p.startswith("https://") else f"{base}/p/{listing.slug}/photo/{n}"
        for n, p in enumerate(listing.photos)
    ]


def export_csv(listings: list[Listing], cats: Catalogs, base_url: str) -> bytes:
    """Listings as a CSV for marketplace upload: UTF-8 with a BOM so Excel reads Vietnamese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_(c) for c in CSV_COLUMNS])
    for x in listings:
        entry = product_entry(x, cats)
        category = CATEGORIES.get(str(entry.get("category", ""))) if entry else None
        certs = certs_text(x.certs)
        if x.certs.number:
            certs += f" ({x.certs.number})"
        writer.writerow(
            [
                _cell(title(x)),
                _(category) if category else "",
                str(x.price),
                unit_name(x.unit),
                x.stock,
                _cell(x.description),
                _cell(origin_text(x, cats)),
                _cell(certs),
                _cell(" | ".join(photo_refs(x, base_url))),
                status_text(x),
                public_url(base_url, x.slug),
                str(x.id),
            ]
        )
    return out.getvalue().encode("utf-8-sig")
