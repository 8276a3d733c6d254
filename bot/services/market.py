"""The open market page (/cho): what is on sale, searched and filtered, as plain HTML.

No JavaScript and nothing from another server: a GET form filters, links page. Small on
purpose (pages of 20, thumbnails of at most 20 KB) so it opens on a weak 3G signal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from urllib.parse import urlencode

from bot.i18n import _
from bot.services.catalog import Directory
from bot.services.deeplinks import DeepLinks
from bot.services.listing_index import OfferIndex
from bot.services.listings import Listing
from bot.services.public import e
from bot.services.search import CERTS, OTHER_PRODUCT, Filters, amount, cert_text
from bot.services.share import price_text, title

PAGE_SIZE = 20
QUERY_MAX = 100
PAGE_MAX = 10_000

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f7f2;color:#1d2b1f}
main{max-width:40rem;margin:0 auto;padding:.8rem}
h1{font-size:1.35rem;margin:.3rem 0}a{color:#1b5e20}
form{display:grid;grid-template-columns:1fr 1fr;gap:.4rem;margin:.6rem 0}
form input,form select,form button{font-size:1rem;padding:.5rem;border:1px solid #9bb59e;
border-radius:.4rem;min-width:0;background:#fff}
form input{grid-column:1/-1}form button{background:#2e7d32;color:#fff;font-weight:600}
ul{list-style:none;padding:0;margin:0}
.card{display:flex;gap:.6rem;background:#fff;border-radius:.5rem;padding:.5rem;margin:.4rem 0}
.card img{width:96px;height:96px;object-fit:cover;border-radius:.4rem;flex:none;background:#dde8dc}
.card p{margin:.15rem 0;overflow-wrap:anywhere}.t{font-weight:700}
.pr{color:#2e7d32;font-weight:700}
.buy{display:inline-block;margin-top:.2rem;padding:.35rem .7rem;background:#2e7d32;color:#fff;
border-radius:.4rem;text-decoration:none;font-weight:600}
nav{display:flex;justify-content:space-between;margin:.8rem 0}
footer{color:#5b6b5d;font-size:.85rem;margin:1.2rem 0;text-align:center}
"""


@dataclass(frozen=True)
class Query:
    """What a buyer asked the market page for; empty strings mean "any"."""

    text: str = ""
    product: str = ""
    area: str = ""
    cert: str = ""
    page: int = 0

    @property
    def filters(self) -> Filters:
        """The search filters (the page number aside)."""
        return Filters(self.text, self.product, self.area, self.cert)

    def link(self, base: str, fixed_area: str, **changes: object) -> str:
        """A link to this query with some parts changed (a page arrow)."""
        q = replace(self, **changes)  # type: ignore[arg-type]
        params = {"q": q.text, "sp": q.product, "cn": q.cert, "trang": q.page + 1 or ""}
        if not fixed_area:
            params["xa"] = q.area
        kept = {k: v for k, v in params.items() if v and not (k == "trang" and v == 1)}
        return base + ("?" + urlencode(kept) if kept else "")


def parse_query(
    raw: Mapping[str, str], products: Directory, areas: Directory, fixed_area: str = ""
) -> Query:
    """A query from the URL's parameters; anything unknown is ignored (shows everything)."""
    text = " ".join(str(raw.get("q", "")).split())[:QUERY_MAX]
    product = str(raw.get("sp", ""))
    if product != OTHER_PRODUCT and products.get(product) is None:
        product = ""
    area = fixed_area or str(raw.get("xa", ""))
    if areas.get(area) is None:
        area = ""
    cert = str(raw.get("cn", ""))
    cert = cert if cert in CERTS else ""
    page_text = str(raw.get("trang", "1"))
    page = int(page_text) - 1 if page_text.isdigit() and 0 < len(page_text) <= 5 else 0
    return Query(text, product, area, cert, min(max(page, 0), PAGE_MAX))


def thumb_version(listing: Listing) -> str:
    """Changes when the first photo does: the thumbnail's URL is cached for long."""
    return hashlib.sha256(listing.photos[0].encode()).hexdigest()[:10] if listing.photos else ""


def _options(name: str, label: str, counts: dict[str, int], names: Directory, chosen: str) -> str:
    """A <select> of the keys on sale now, with how many each has."""
    keys = sorted(counts, key=lambda k: (k == OTHER_PRODUCT, names.name(k)))
    rows = [f'<option value="">{e(label)}</option>']
    for key in keys:
        shown = _("Other products") if key == OTHER_PRODUCT else names.name(key)
        picked = " selected" if key == chosen else ""
        rows.append(f'<option value="{e(key)}"{picked}>{e(shown)} ({counts[key]})</option>')
    return f'<select name="{name}" aria-label="{e(label)}">{"".join(rows)}</select>'


def _cert_select(chosen: str) -> str:
    label = _("Any certification")
    rows = [f'<option value="">{e(label)}</option>']
    for key, msgid in CERTS.items():
        picked = " selected" if key == chosen else ""
        rows.append(f'<option value="{key}"{picked}>{e(_(msgid))}</option>')
    return f'<select name="cn" aria-label="{e(label)}">{"".join(rows)}</select>'


def _card(listing: Listing, free: Decimal, areas: Directory, links: DeepLinks) -> str:
    page = f"/p/{listing.slug}"
    parts = ['<li class="card">']
    if listing.photos:
        src = f"{page}/thumb.jpg?v={thumb_version(listing)}"
        parts.append(
            f'<a href="{page}" tabindex="-1"><img src="{e(src)}" width="96" height="96" '
            f'alt="{e(listing.product_name)}" loading="lazy"></a>'
        )
    place = [areas.name(listing.area)] if listing.area else []
    certs = cert_text(listing)
    info = " · ".join(["📍 " + p for p in place] + (["🏅 " + certs] if certs else []))
    buy = _("Order")
    free_text = _("Available: {amount}").format(amount=amount(free, listing.unit))
    parts.append(
        f'<div><p><a class="t" href="{page}">{e(title(listing))}</a></p>'
        f'<p class="pr">{e(price_text(listing))}</p>'
        f"<p>{e(info)}</p>"
        f"<p>{e(free_text)}</p>"
        f'<p><a class="buy" href="{e(links.chat_path(listing.slug))}">{e(buy)}</a>'
    )
    telegram = links.telegram(listing.slug)
    if telegram:
        parts.append(f' <a href="{e(telegram)}">Telegram</a>')
    parts.append("</p></div></li>")
    return "".join(parts)


def market_page(
    query: Query,
    found: int,
    shown: list[Listing],
    offers: OfferIndex,
    products: Directory,
    areas: Directory,
    links: DeepLinks,
    lang: str,
    fixed_area: str = "",
) -> str:
    """The market page: the filter form, a page of cards, page arrows."""
    base = f"/cho/{fixed_area}" if fixed_area else "/cho"
    heading = _("Lạng Sơn farm market")
    if fixed_area:
        heading = _("Farm market of {area}").format(area=areas.name(fixed_area))
    placeholder = _("Search: na chi lang, hong, thach den…")
    name_label, search = _("Product name"), _("Search")
    form = [
        f'<form method="get" action="{base}">',
        f'<input name="q" value="{e(query.text)}" placeholder="{e(placeholder)}" '
        f'aria-label="{e(name_label)}" maxlength="{QUERY_MAX}" type="search">',
        _options("sp", _("All products"), offers.counts("product"), products, query.product),
    ]
    if not fixed_area:
        areas_on_sale = {k: n for k, n in offers.counts("area").items() if k}
        form.append(_options("xa", _("All communes"), areas_on_sale, areas, query.area))
    form += [_cert_select(query.cert), f"<button>{e(search)}</button>", "</form>"]
    pages = max(1, -(-found // PAGE_SIZE))
    counted = _("{count} products on sale").format(count=found)
    if pages > 1:
        counted += " · " + _("page {page} of {pages}").format(page=query.page + 1, pages=pages)
    body = [f"<h1>{e(heading)}</h1>", "".join(form), f"<p>{e(counted)}</p>"]
    if fixed_area:
        everywhere = _("See every commune")
        body.append(f'<p><a href="/cho">{e(everywhere)}</a></p>')
    if shown:
        cards = (_card(x, offers.free(x.id), areas, links) for x in shown)
        body.append(f"<ul>{''.join(cards)}</ul>")
    else:
        nothing = _("Nothing on sale matches. Try another name or filter.")
        body.append(f"<p>{e(nothing)}</p>")
    nav = []
    previous, following = _("Previous page"), _("Next page")
    if query.page > 0:
        prev_link = query.link(base, fixed_area, page=query.page - 1)
        nav.append(f'<a href="{e(prev_link)}" rel="prev">‹ {e(previous)}</a>')
    if query.page + 1 < pages:
        next_link = query.link(base, fixed_area, page=query.page + 1)
        nav.append(f'<a href="{e(next_link)}" rel="next">{e(following)} ›</a>')
    if nav:
        body.append(f"<nav>{''.join(nav)}</nav>")
    chat = _("Or ask the Nông Dân Số chat")
    footer = f'<footer><a href="/">{e(chat)}</a></footer>'
    return (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(heading)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{''.join(body)}{footer}</main></body></html>"
    )
