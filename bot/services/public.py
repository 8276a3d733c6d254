"""The public traceability page of a listing: what a buyer sees after scanning its QR code.

Only product facts are shown (name, origin commune, certifications, harvest window, photos);
the farmer's phone only when she chose to show it, never her name or id.
"""

from __future__ import annotations

import contextlib
import html
from datetime import datetime
from decimal import Decimal

from bot.i18n import _, format_day, format_vnd
from bot.services.catalog import Directory
from bot.services.deeplinks import DeepLinks
from bot.services.listings import ACTIVE, PAUSED, Listing
from bot.services.order_notices import status_label
from bot.services.orders import Order
from bot.services.search import amount
from bot.services.share import (
    PROVINCE,
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
.order a.go{display:block;margin:.4rem 0;padding:.6rem;border-radius:.4rem;background:#2e7d32;
color:#fff;text-align:center;font-weight:600;text-decoration:none}
.order .code{font-family:monospace;font-size:1.2rem;font-weight:700}
.qr{text-align:center;margin-top:1rem}.qr img{width:10rem;height:10rem}
footer{color:#5b6b5d;font-size:.85rem;margin-top:1.5rem;text-align:center}
"""


def e(value: object) -> str:
    """Escape any value for HTML text and attributes."""
    return html.escape(str(value), quote=True)


def photo_src(slug: str, index: int, ref: str) -> str:
    """Where a browser can load a listing photo: the page's own photo route for any ref."""
    if ref.startswith("https://"):
        return ref
    return f"/p/{slug}/photo/{index}"


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


def not_found_page(lang: str, links: DeepLinks, *, order: bool = False) -> str:
    """The page for an unknown or deleted listing (or order): says so, leads to what is on sale."""
    heading = _("Order not found") if order else _("Product not found")
    text = (
        _("This order link is not valid, or the order's data was deleted.")
        if order
        else _("This product page does not exist, or the seller has removed it.")
    )
    more = _("See other products on sale")
    market = f'<p><a href="/cho">{e(more)}</a></p>'
    return _page(lang, heading, f"<h1>{e(heading)}</h1><p>{e(text)}</p>{market}")


def _order_links(listing: Listing, links: DeepLinks, phone: str) -> str:
    """How to order: the web chat first, then Telegram, then the code to type on Zalo."""
    how = _("How to order")
    order = [f"<h2>{e(how)}</h2>"]
    web = _("Order now in the web chat (no app needed)")
    order.append(f'<a class="go" href="{e(links.chat_path(listing.slug))}">{e(web)}</a>')
    telegram = links.telegram(listing.slug)
    if telegram:
        label = _("Order on Telegram")
        order.append(f'<a class="go" href="{e(telegram)}">{e(label)}</a>')
    typed = _("On Zalo or any chat with Nông Dân Số, type:")
    code = links.code(listing.slug)
    order.append(f'<p>{e(typed)} <span class="code">{e(code)}</span></p>')
    if phone:
        tel = "tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")
        label = _("Seller phone / Zalo:")
        order.append(f'<p>{e(label)} <a href="{e(tel)}">{e(phone)}</a></p>')
    return '<section class="order">' + "".join(order) + "</section>"


def _similar(similar: list[Listing], links: DeepLinks) -> str:
    """Links to listings of the same product still on sale."""
    if not similar:
        more = _("See other products on sale")
        return f'<p><a href="/cho">{e(more)}</a></p>'
    heading = _("Similar products on sale")
    items = "".join(
        f'<li><a href="/p/{e(x.slug)}">{e(title(x))}</a> — {e(price_text(x))}</li>'
        for x in similar
    )
    return f"<h2>{e(heading)}</h2><ul>{items}</ul>"


def listing_page(
    listing: Listing,
    cats: Catalogs,
    links: DeepLinks,
    phone: str,
    lang: str,
    similar: list[Listing] | None = None,
) -> str:
    """The public page of a listing (everything escaped); `similar` when it is not on sale."""
    parts = [f"<h1>{e(title(listing))}</h1>"]
    if listing.status != ACTIVE:
        banner = (
            _("Paused for now: not taking orders.") if listing.status == PAUSED else _("Sold out.")
        )
        parts.append(f'<p class="banner">{e(banner)}</p>')
        parts.append(_similar(similar or [], links))
    for index, ref in enumerate(listing.photos):
        src = photo_src(listing.slug, index, ref)
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
    if listing.status == ACTIVE:
        parts.append(_order_links(listing, links, phone))
    qr_alt = e(_("QR code of this page"))
    parts.append(f'<p class="qr"><img src="/p/{e(listing.slug)}/qr.png" alt="{qr_alt}"></p>')
    return _page(lang, title(listing), "".join(parts))


def order_page(
    order: Order, listing: Listing | None, areas: Directory, links: DeepLinks, lang: str
) -> str:
    """A buyer's order as its status link shows it: no phone or address, only the order."""
    heading = _("Order {code}").format(code=order.code)
    qty = Decimal(order.quantity)
    rows = [
        (_("Product"), order.product_name),
        (_("Amount"), amount(qty, order.unit)),
        (_("Price"), f"{format_vnd(order.price)}/{unit_name(order.unit)}"),
        (_("Total"), format_vnd(order.total)),
        (_("Status"), status_label(order.status)),
    ]
    if listing is not None and listing.area:
        rows.append((_("Sold from"), f"{areas.name(listing.area)}, {PROVINCE}"))
    if order.tracking:
        rows.append((_("Tracking"), order.tracking))
    parts = [f"<h1>{e(heading)}</h1>", f'<p class="price">{e(status_label(order.status))}</p>']
    parts.append("<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows) + "</dl>")
    steps = []
    for moment, status in order.history:
        with contextlib.suppress(ValueError):
            when = format_day(datetime.fromisoformat(moment))
            steps.append(f"<li>{e(when)}: {e(status_label(status))}</li>")
    if steps:
        history = _("History")
        parts.append(f"<h2>{e(history)}</h2><ol>{''.join(steps)}</ol>")
    note = _("The seller confirms the order and agrees payment and delivery with you.")
    parts.append(f"<p>{e(note)}</p>")
    if listing is not None and listing.slug:
        back = _("See the product")
        parts.append(f'<p><a href="/p/{e(listing.slug)}">{e(back)}</a></p>')
    return _page(lang, heading, "".join(parts))
