"""The console's request plumbing: language, session, role and CSRF checks around every page."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.i18n import N_, _, use_locale
from bot.services.container import Services
from bot.web.console.auth import COOKIE, Sessions, Viewer, same, viewer_for
from bot.web.console.html import Safe, h, layout
from bot.web.limits import Buckets, client_address, networks

log = logging.getLogger(__name__)

LANG_COOKIE = "ndc_lang"
WAITS_PER_MINUTE = 30  # unknown cookies or links a client address may have looked for
Handler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "media-src 'self' https:; "  # voice notes; Zalo's are kept on its own servers
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class Forbidden(Exception):
    """The viewer may not see or do this (another area's data, an admin-only action)."""


def lang_of(request: web.Request) -> str:
    """The page language: ?lang=, then the cookie, then Vietnamese."""
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE, "")
    return "en" if asked == "en" else "vi"


class Console:
    """Shared state of the console pages and the checks every one of them goes through."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.links = services.console_links
        self.sessions = Sessions(services.store, services.clock)
        self.secure = services.settings.base_url.startswith("https://")
        self.trusted = networks(services.settings.trusted_proxies)
        self._waits = Buckets(WAITS_PER_MINUTE, 60.0, time.monotonic)

    def may_wait(self, request: web.Request) -> bool:
        """Whether this request may wait for other processes' commits to learn of a cookie or
        link it does not know: a round trip to the database each, so a client sending made-up
        ones gets a few a minute (a real one is unknown only for a moment after sign-in)."""
        address = client_address(request, self.trusted)
        if self._waits.wait(address) > 0:
            return False
        self._waits.spend(address)
        return True

    def cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
        """Set a console cookie: HTTP-only, SameSite=Strict, Secure behind https."""
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/console",
            httponly=True,
            samesite="Strict",
            secure=self.secure,
        )

    async def viewer(self, request: web.Request) -> Viewer | None:
        """Who is signed in on this request and still holds a console role."""
        cookie = request.cookies.get(COOKIE, "")
        session = self.sessions.get(cookie)
        if session is None and cookie and self.services.store.shared and self.may_wait(request):
            # Signed in through another process a moment ago: wait for its commit to arrive.
            await self.services.store.catch_up()
            session = self.sessions.get(cookie)
        if session is None:
            return None
        await self.sessions.touch(session)
        viewer = viewer_for(self.services.users, self.services.users.get(session.user_id), "")
        if viewer is None:
            self.sessions.end(session)  # the role was revoked: the session goes with it
            return None
        viewer.csrf = session.csrf
        return viewer

    def html(
        self,
        request: web.Request,
        viewer: Viewer | None,
        title: str,
        body: Safe,
        status: int = 200,
    ) -> web.Response:
        """A whole page as a response."""
        text = layout(title, body, viewer, lang_of(request), request.path)
        response = web.Response(text=text, status=status, content_type="text/html")
        response.headers.update(HEADERS)
        if request.query.get("lang") in ("vi", "en"):
            self.cookie(response, LANG_COOKIE, lang_of(request), 365 * 86400)
        return response

    def forbidden(self, request: web.Request, viewer: Viewer | None) -> web.Response:
        """The refusal page (403)."""
        body = h("<p>$t</p>", t=_("You may not see this page or do this."))
        return self.html(request, viewer, _("Not allowed"), body, status=403)

    def page(self, handler: Handler, admin_only: bool = False) -> Callable[..., Any]:
        """Wrap a page: language, session, role, CSRF on POST; refusals logged."""

        async def run(request: web.Request) -> web.StreamResponse:
            with use_locale(lang_of(request)):
                viewer = await self.viewer(request)
                if viewer is None:
                    if request.method == "GET":
                        raise web.HTTPSeeOther("/console")
                    return self.forbidden(request, None)
                if admin_only and not viewer.admin:
                    log.warning("console: user %s refused %s", viewer.user.id, request.path)
                    return self.forbidden(request, viewer)
                if request.method == "POST":
                    form = await request.post()
                    if not same(str(form.get("csrf", "")), viewer.csrf):
                        log.warning("console: POST %s without a valid CSRF token", request.path)
                        return self.forbidden(request, viewer)
                try:
                    return await handler(request, viewer)
                except Forbidden:
                    log.warning("console: user %s refused %s", viewer.user.id, request.path)
                    return self.forbidden(request, viewer)

        return run

    def back(self, location: str, code: str = "") -> web.HTTPSeeOther:
        """Redirect after a POST, with the code of a notice to show on the next page."""
        sep = "&" if "?" in location else "?"
        return web.HTTPSeeOther(f"{location}{sep}ok={code}" if code else location)


NOTICES = {
    "saved": N_("Saved."),
    "added": N_("Added."),
    "deleted": N_("Deleted."),
    "answered": N_("Answer sent to the farmer."),
    "unsent": N_("Answer saved, but the farmer cannot be reached right now."),
    "dismissed": N_("Question dismissed."),
    "faq": N_("FAQ entry created from the answer."),
    "roles": N_("Roles updated."),
    "reloaded": N_("Lessons reloaded."),
    "broadcast": N_("The broadcast is being sent."),
    "stopped": N_("The broadcast was stopped."),
}


def notice(request: web.Request) -> Safe:
    """The notice a redirect asked for (by code: never text from the address)."""
    text = NOTICES.get(request.query.get("ok", ""))
    return h('<p class="notice">$t</p>', t=_(text)) if text else Safe("")


def area_param(request: web.Request, viewer: Viewer) -> str:
    """The ?area= a page was asked for, refused if it is not one of the viewer's areas."""
    area = request.query.get("area", "")
    if area and not viewer.may_see(area):
        raise Forbidden(area)
    return area
