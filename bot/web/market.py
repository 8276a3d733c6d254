"""The open market page (/cho, /cho/<commune>) and the thumbnails its cards show.

Rendered pages are kept until the offer index changes (any listing saved, any order that
holds stock), so a page shared in a commune's Zalo group is served from memory to everyone
who opens it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from aiohttp import web

from bot.core.media import thumb_name
from bot.i18n import use_locale
from bot.services.container import Services
from bot.services.market import PAGE_SIZE, Query, market_page, parse_query
from bot.services.search import find
from bot.services.thumbs import write_thumbnail
from bot.slugs import is_slug

_HTML = "text/html"
CACHE_PAGES = 512  # rendered pages kept (least recently used dropped)
_PAGE_CACHE = "public, max-age=60"  # a minute in the browser; the server knows when it changed
_THUMB_CACHE = "public, max-age=60"  # a deleted photo leaves caches within a minute


class Market:
    """Serves the market pages from a cache that the offer index's version keeps right."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._pages: OrderedDict[tuple[str, Query, str], tuple[int, bytes]] = OrderedDict()
        self._thumb_locks: dict[str, asyncio.Lock] = {}

    def add_routes(self, app: web.Application) -> None:
        """Mount the market pages and the thumbnails."""
        app.router.add_get("/cho", self.page)
        app.router.add_get("/cho/{area}", self.page)
        app.router.add_get("/p/{key}/thumb.jpg", self.thumb)

    def render(self, area: str, raw: dict[str, str], lang: str) -> bytes | None:
        """The page for a commune ("" for all) and the URL's parameters; None: no such commune."""
        services = self.services
        if area and services.areas.get(area) is None:
            return None
        query = parse_query(raw, services.products, services.areas, area)
        offers = services.listings.offers
        key = (area, query, lang)
        cached = self._pages.get(key)
        if cached is not None and cached[0] == offers.version:
            self._pages.move_to_end(key)
            return cached[1]
        version = offers.version
        found = find(offers, services.products, query.filters)
        start = query.page * PAGE_SIZE
        shown = services.listings.on_sale(found[start : start + PAGE_SIZE])
        with use_locale(lang):
            html = market_page(
                query,
                len(found),
                shown,
                offers,
                services.products,
                services.areas,
                services.links,
                lang,
                area,
            )
        body = html.encode("utf-8")
        self._pages[key] = (version, body)
        while len(self._pages) > CACHE_PAGES:
            self._pages.popitem(last=False)
        return body

    async def page(self, request: web.Request) -> web.Response:
        """/cho or /cho/<commune>, filtered by the query string."""
        lang = "en" if request.query.get("lang") == "en" else "vi"
        body = self.render(request.match_info.get("area", ""), dict(request.query), lang)
        if body is None:
            raise web.HTTPNotFound()
        headers = {"Cache-Control": _PAGE_CACHE}
        return web.Response(body=body, content_type=_HTML, charset="utf-8", headers=headers)

    async def thumb(self, request: web.Request) -> web.StreamResponse:
        """A listing's first photo, at most 20 KB, made once and kept in the media dir."""
        key = request.match_info["key"].upper()
        listing = self.services.listings.by_slug(key) if is_slug(key) else None
        if listing is None or not listing.photos:
            raise web.HTTPNotFound()
        ref = listing.photos[0]
        name = thumb_name(ref)
        dest = self.services.media.media_dir / name
        lock = self._thumb_locks.setdefault(name, asyncio.Lock())
        async with lock:  # many phones opening the same page make it once
            if not dest.is_file():
                source = await self.services.media.local_file(ref)
                made = source is not None and await asyncio.to_thread(
                    write_thumbnail, source, dest
                )
                if not made:
                    raise web.HTTPNotFound()
        self._thumb_locks.pop(name, None)
        return web.FileResponse(dest, headers={"Cache-Control": _THUMB_CACHE})


def add_market_routes(app: web.Application, services: Services) -> None:
    """Mount the open market on the bot's web app."""
    Market(services).add_routes(app)
