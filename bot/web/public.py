"""Public routes: a listing's traceability page (/p/<slug>), its QR code and photos.

Pages are found by the listing's random slug. Listings made before slugs existed keep their
printed /p/<id> addresses, redirected to the slug; a newer listing has no numeric address, so
nobody can walk the table by counting.
"""

from __future__ import annotations

from aiohttp import web

from bot.i18n import use_locale
from bot.services.container import Services
from bot.services.listings import Listing
from bot.services.public import listing_page, not_found_page, order_page
from bot.services.search import Filters, find
from bot.services.share import Catalogs, qr_png
from bot.slugs import is_slug
from bot.text import display_phone

_HTML = "text/html"
_CACHE = "public, max-age=60"  # short: a paused, edited or deleted listing shows so soon
SIMILAR_MAX = 5


class PublicPages:
    """Serves what a buyer reaches by scanning a package's QR code or opening a shared link."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def add_routes(self, app: web.Application) -> None:
        """Mount the page and its QR image."""
        app.router.add_get("/p/{key}", self.page)
        app.router.add_get("/p/{key}/qr.png", self.qr)
        app.router.add_get("/p/{key}/photo/{index}", self.photo)
        app.router.add_get("/d/{token}", self.order)
        app.router.add_get("/audio/{token}", self.audio)

    def _listing(self, request: web.Request) -> Listing | None:
        """The listing a path names; a legacy numeric address redirects to its slug."""
        key = request.match_info["key"]
        if is_slug(key.upper()):
            return self.services.listings.by_slug(key.upper())
        if key.isdigit() and len(key) <= 12:
            listing = self.services.listings.get(int(key))
            if listing is not None and listing.legacy_id and listing.slug:
                path = request.path.replace(f"/p/{key}", f"/p/{listing.slug}", 1)
                query = f"?{request.query_string}" if request.query_string else ""
                raise web.HTTPMovedPermanently(path + query)
        return None

    def _similar(self, listing: Listing) -> list[Listing]:
        """Listings of the same product on sale, in place of one that is not."""
        if not listing.product_id:
            return []
        offers = self.services.listings.offers
        ids = find(offers, self.services.products, Filters("", listing.product_id))
        return self.services.listings.on_sale(ids[:SIMILAR_MAX])

    async def page(self, request: web.Request) -> web.Response:
        """The listing's page, or a 404 page for an unknown or deleted one."""
        lang = "en" if request.query.get("lang") == "en" else "vi"
        listing = self._listing(request)
        links = self.services.links
        with use_locale(lang):
            if listing is None:
                body = not_found_page(lang, links)
                return web.Response(text=body, status=404, content_type=_HTML)
            phone = ""
            if listing.show_phone:
                farmer = self.services.users.get(listing.farmer_id)
                phone = display_phone(farmer.phone) if farmer and farmer.phone else ""
            cats = Catalogs(self.services.products, self.services.areas)
            similar = self._similar(listing) if listing.status != "active" else []
            body = listing_page(listing, cats, links, phone, lang, similar)
        headers = {"Cache-Control": _CACHE}
        return web.Response(text=body, content_type=_HTML, charset="utf-8", headers=headers)

    async def qr(self, request: web.Request) -> web.Response:
        """The QR code PNG pointing at the listing's page."""
        listing = self._listing(request)
        if listing is None:
            raise web.HTTPNotFound()
        png = qr_png(self.services.links.page(listing.slug))
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": _CACHE})

    async def photo(self, request: web.Request) -> web.StreamResponse:
        """A listing's photo, copied from the farmer's app the first time it is asked for."""
        listing = self._listing(request)
        raw = request.match_info["index"]
        if listing is None or not raw.isdigit() or int(raw) >= len(listing.photos):
            raise web.HTTPNotFound()
        path = await self.services.media.local_file(listing.photos[int(raw)])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": _CACHE})

    async def order(self, request: web.Request) -> web.Response:
        """A buyer's order status, opened by the token in the link the buyer was given."""
        lang = "en" if request.query.get("lang") == "en" else "vi"
        token = request.match_info["token"]
        order = self.services.orders.by_token(token) if 16 <= len(token) <= 64 else None
        with use_locale(lang):
            if order is None:
                body = not_found_page(lang, self.services.links, order=True)
                return web.Response(text=body, status=404, content_type=_HTML)
            listing = self.services.listings.get(order.listing_id)
            body = order_page(order, listing, self.services.areas, self.services.links, lang)
        # Private to the link's holder: never kept by a shared cache.
        headers = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
        return web.Response(text=body, content_type=_HTML, charset="utf-8", headers=headers)

    async def audio(self, request: web.Request) -> web.StreamResponse:
        """A voice note of a handed-off question or its answer, by its unguessable token."""
        token = request.match_info["token"]
        ref = self.services.handoffs.audio(token) if 16 <= len(token) <= 64 else ""
        if ref.startswith(("https://", "http://")):
            raise web.HTTPFound(ref)  # kept by the app it came from (Zalo)
        path = await self.services.media.local_file(ref) if ref else None
        if path is None:
            raise web.HTTPNotFound()
        with path.open("rb") as f:
            kind = audio_type(f.read(16))
        headers = {
            "Content-Type": kind,
            "Cache-Control": "private, max-age=60",  # a deleted note is gone within a minute
            "Referrer-Policy": "no-referrer",
        }
        return web.FileResponse(path, headers=headers)


def audio_type(head: bytes) -> str:
    """The MIME type of a voice recording, from its first bytes."""
    if head.startswith(b"OggS"):
        return "audio/ogg"  # Telegram's voice notes (Opus)
    if head[4:8] == b"ftyp":
        return "audio/mp4"  # AAC, as phones and Zalo record
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "audio/webm"  # browsers' MediaRecorder
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3")):
        return "audio/mpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    return "application/octet-stream"


def add_public_routes(app: web.Application, services: Services) -> None:
    """Mount the public listing pages on the bot's web app."""
    PublicPages(services).add_routes(app)
