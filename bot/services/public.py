"""The public traceability page of a listing: what a buyer sees after scanning its QR code.

Only product facts are shown (name, origin commune, certifications, harvest window, photos);
the farmer's phone only when she chose to show it, never her name or id.
"""

from __future__ import annotations

import contextlib
import html
from datetime import datetime

from bot.i18n import _, format_day
from bot.services.listings import ACTIVE, PAUSED, Listing
from bot.services.share import (
    Catalogs,
    amount_text,
    availability_text,
    certs_text,
    origin_text,
    price_text,
    product_entry,
    title,
    unit_name,
)

# Small, inline and image-light: the page must open on a weak 3G connection.
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f7f2;color:#1d2b1f}
main{max-width:36rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}
.banner{background:#fff3cd;border:1px solid #e0c060;padding:.6rem;border-radius:.4rem;
font-weight:600}
.price{font-size:1.4rem;font-weight:700;color:#2e7d32}
img.photo{width:100%;height:auto;border-radius:.5rem;margin:.3rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem .8rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
p{overflow-wrap:anywhere}
.order{background:#fff;border-radius:.5rem;padding:.8rem;margin-top:1rem}
.qr{text-align:center;margin-top:1rem}.qr img{width:10rem;height:10rem}
footer{color:#5b6b5d;font-size:.85rem;margin-top:1.5rem;text-align:center}
"""


def e(value: object) -> str:
    """Escape any value for HTML text and attributes."""
    return html.escape(str(value), quote=True)


def photo_src(listing_id: int, index: int, ref: str) -> str:
    """Where a browser can load a listing photo: the page's own photo route for any ref."""
    if ref.startswith("https://"):
        return ref
    return f"/p/{listing_id}/photo/{index}"


def _page(lang: str, page_title: str, body: str) -> str:
    footer = _("Nông Dân Số — product traceability, Lạng Sơn")
    return (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{e(page_title)}</title>'
        f"<style>{_STYLE}</style></head><body><main>{body}"
        f"<footer>{e(footer)}</footer>"
        "</main></body></html>"
    )


def not_found_page(lang: str) -> str:
    """The page for an unknown or deleted listing."""
    heading = _("Product not found")
    text = _("This product page does not exist, or the seller has removed it.")
    return _page(lang, heading, f"<h1>{e(heading)}</h1><p>{e(text)}</p>")


def listing_page(listing: Listing, cats: Catalogs, base_url: str, phone: str, lang: str) -> str:
    """The public page of a listing (everything escaped)."""
    parts = [f"<h1>{e(title(listing))}</h1>"]
    if listing.status != ACTIVE:
        banner = (
            _("Paused for now: not taking orders.") if listing.status == PAUSED else _("Sold out.")
        )
        parts.append(f'<p class="banner">{e(banner)}</p>')
    for index, ref in enumerate(listing.photos):
        src = photo_src(listing.id, index, ref)
        alt = e(listing.product_name)
        parts.append(f'<img class="photo" src="{e(src)}" alt="{alt}" loading="lazy">')
    parts.append(f'<p class="price">{e(price_text(listing))}</p>')
    rows = [
        (_("In stock"), f"{amount_text(listing.stock)} {unit_name(listing.unit)}"),
        (_("Harvest / available"), availability_text(listing)),
        (_("Origin"), origin_text(listing, cats)),
    ]
    entry = product_entry(listing, cats)
    if entry is not None and entry.get("origin"):
        rows.append((_("Growing area"), str(entry.get("origin"))))
    if entry is not None and entry.get("certification"):
        rows.append((_("Protected name"), str(entry.get("certification"))))
    if listing.certs.any():
        rows.append((_("Certifications"), certs_text(listing.certs)))
        if listing.certs.number:
            rows.append((_("Certificate no."), listing.certs.number))
    if listing.updated_at:
        with contextlib.suppress(ValueError):  # a hand-edited date must not break the page
            rows.append((_("Updated"), format_day(datetime.fromisoformat(listing.updated_at))))
    parts.append("<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows) + "</dl>")
    if listing.description:
        parts.append(f"<p>{e(listing.description)}</p>")
    chat = base_url.rstrip("/") + "/"
    how, link = _("How to order"), _("Order through the Nông Dân Số chat")
    order = [f"<h2>{e(how)}</h2>", f'<p><a href="{e(chat)}">{e(link)}</a></p>']
    if phone:
        tel = "tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")
        label = _("Seller phone / Zalo:")
        order.append(f'<p>{e(label)} <a href="{e(tel)}">{e(phone)}</a></p>')
    parts.append('<section class="order">' + "".join(order) + "</section>")
    qr_alt = e(_("QR code of this page"))
    parts.append(f'<p class="qr"><img src="/p/{listing.id}/qr.png" alt="{qr_alt}"></p>')
    return _page(lang, title(listing), "".join(parts))
