"""Public routes: a listing's traceability page (/p/<id>) and its QR code (/p/<id>/qr.png)."""

from __future__ import annotations

from aiohttp import web

from bot.i18n import use_locale
from bot.services.container import Services
from bot.services.public import listing_page, not_found_page
from bot.services.share import Catalogs, public_url, qr_png
from bot.text import display_phone

_HTML = "text/html"
_CACHE = "public, max-age=60"  # short: a paused, edited or deleted listing shows so soon


class PublicPages:
    """Serves what a buyer reaches by scanning a package's QR code."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def add_routes(self, app: web.Application) -> None:
        """Mount the page and its QR image."""
        app.router.add_get("/p/{listing_id}", self.page)
        app.router.add_get("/p/{listing_id}/qr.png", self.qr)
        app.router.add_get("/p/{listing_id}/photo/{index}", self.photo)

    def _listing_id(self, request: web.Request) -> int | None:
        raw = request.match_info["listing_id"]
        return int(raw) if raw.isdigit() and len(raw) <= 12 else None

    async def page(self, request: web.Request) -> web.Response:
        """The listing's page, or a 404 page for an unknown or deleted one."""
        lang = "en" if request.query.get("lang") == "en" else "vi"
        listing_id = self._listing_id(request)
        listing = self.services.listings.get(listing_id) if listing_id else None
        with use_locale(lang):
            if listing is None:
                return web.Response(text=not_found_page(lang), status=404, content_type=_HTML)
            phone = ""
            if listing.show_phone:
                farmer = self.services.users.get(listing.farmer_id)
                phone = display_phone(farmer.phone) if farmer and farmer.phone else ""
            cats = Catalogs(self.services.products, self.services.areas)
            body = listing_page(listing, cats, self.services.settings.base_url, phone, lang)
        headers = {"Cache-Control": _CACHE}
        return web.Response(text=body, content_type=_HTML, charset="utf-8", headers=headers)

    async def qr(self, request: web.Request) -> web.Response:
        """The QR code PNG pointing at the listing's page."""
        listing_id = self._listing_id(request)
        if not listing_id or self.services.listings.get(listing_id) is None:
            raise web.HTTPNotFound()
        png = qr_png(public_url(self.services.settings.base_url, listing_id))
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": _CACHE})

    async def photo(self, request: web.Request) -> web.StreamResponse:
        """A listing's photo, copied from the farmer's app the first time it is asked for."""
        listing_id = self._listing_id(request)
        listing = self.services.listings.get(listing_id) if listing_id else None
        raw = request.match_info["index"]
        if listing is None or not raw.isdigit() or int(raw) >= len(listing.photos):
            raise web.HTTPNotFound()
        path = await self.services.media.local_file(listing.photos[int(raw)])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": _CACHE})


def add_public_routes(app: web.Application, services: Services) -> None:
    """Mount the public listing pages on the bot's web app."""
    PublicPages(services).add_routes(app)
