"""Sign-in through a one-time link, sign-out, the console's front door and its stylesheet.

Opening a link only shows a "Sign in" button: chat apps fetch links to preview them, and a GET
that consumed the token would burn it before the person clicks. The POST that redeems it
carries a pre-session CSRF token bound to a cookie (double submit).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from aiohttp import web

from bot.i18n import _, use_locale
from bot.services.console_links import LOGIN_PATH
from bot.web.console.auth import COOKIE, SESSION_MAX, Viewer, same, viewer_for
from bot.web.console.base import HEADERS, Console, lang_of
from bot.web.console.html import h

log = logging.getLogger(__name__)

PRE_COOKIE = "ndc_pre"
STATIC = Path(__file__).resolve().parent / "static"


class SignIn:
    """The routes around signing in and out."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def add_routes(self, app: web.Application) -> None:
        """Mount the front door, the link pages, sign-out and the stylesheet."""
        app.router.add_get("/console", self.home)
        app.router.add_get(LOGIN_PATH + "{token}", self.link)
        app.router.add_post("/console/login", self.login)
        app.router.add_post("/console/logout", self.console.page(self.logout))
        app.router.add_get("/console/static/console.css", self.css)

    async def home(self, request: web.Request) -> web.StreamResponse:
        """The dashboard for a signed-in viewer, else how to get a link."""
        with use_locale(lang_of(request)):
            if await self.console.viewer(request) is not None:
                raise web.HTTPSeeOther("/console/dashboard")
            body = h(
                "<p>$t</p>",
                t=_(
                    "To sign in, send /console to the bot in Telegram. It sends admins and "
                    "team members a sign-in link valid for 10 minutes."
                ),
            )
            return self.console.html(request, None, _("Sign in"), body)

    async def link(self, request: web.Request) -> web.StreamResponse:
        """The page a link opens: a button that signs in (the token is not used yet)."""
        with use_locale(lang_of(request)):
            pre = secrets.token_urlsafe(24)
            body = h(
                '<form method="post" action="/console/login">'
                '<input type="hidden" name="token" value="$token">'
                '<input type="hidden" name="csrf" value="$pre">'
                '<button type="submit" class="primary">$label</button></form>',
                token=request.match_info["token"],
                pre=pre,
                label=_("Sign in to the console"),
            )
            response = self.console.html(request, None, _("Sign in"), body)
            self.console.cookie(response, PRE_COOKIE, pre, 600)
            return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        """Redeem a link: start a session for an admin or team member."""
        with use_locale(lang_of(request)):
            form = await request.post()
            if not same(str(form.get("csrf", "")), request.cookies.get(PRE_COOKIE, "")):
                log.warning("console: sign-in POST without its CSRF token")
                return self.console.forbidden(request, None)
            token = str(form.get("token", ""))
            user_key = await self.console.links.redeem(
                token, lambda: self.console.may_wait(request)
            )
            store = self.console.services.store
            async with store.committed():  # in the database before the browser comes back
                viewer = self._viewer(user_key) if user_key else None
                if viewer is not None:
                    sid, _session = self.console.sessions.create(viewer.user.id)
            if viewer is None:
                log.warning("console: sign-in refused (link unknown, used, expired or no role)")
                body = h(
                    "<p>$t</p>",
                    t=_(
                        "This link was already used or has expired. Send /console to the bot again."
                    ),
                )
                return self.console.html(request, None, _("Sign in"), body, status=403)
            log.info("console: user %s signed in", viewer.user.id)
            response = web.HTTPSeeOther("/console/dashboard")
            response.headers.update(HEADERS)
            self.console.cookie(response, COOKIE, sid, int(SESSION_MAX.total_seconds()))
            response.del_cookie(PRE_COOKIE, path="/console")
            raise response

    def _viewer(self, user_key: str) -> Viewer | None:
        """The console viewer for a redeemed identity; a configured admin gets a user record."""
        services = self.console.services
        user = services.users.by_key(user_key)
        if user is None and user_key in {
            f"telegram:{i}" for i in services.settings.admin_telegram_ids
        }:
            user = services.users.create(user_key, "", services.clock.now().isoformat())
        return viewer_for(services.users, user, "")

    async def logout(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """End this session."""
        session = self.console.sessions.get(request.cookies.get(COOKIE, ""))
        if session is not None:
            async with self.console.services.store.committed():  # out in every process
                self.console.sessions.end(session)
        response = web.HTTPSeeOther("/console")
        response.del_cookie(COOKIE, path="/console")
        raise response

    async def css(self, _request: web.Request) -> web.StreamResponse:
        """The stylesheet (served locally: the console works on a closed network)."""
        return web.FileResponse(STATIC / "console.css", headers={"Cache-Control": "max-age=3600"})
