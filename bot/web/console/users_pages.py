"""Users and roles (admins): search, grant or revoke roles, invite codes, delete a user."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.i18n import _
from bot.services.users import ADMIN, TEAM, User
from bot.text import display_phone, fold
from bot.web.console.auth import Viewer
from bot.web.console.base import Console, notice
from bot.web.console.html import Safe, csrf_field, h, join, table

log = logging.getLogger(__name__)

LIST_MAX = 100  # users shown at once


class UserPages:
    """The users list and each user's roles."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.services = console.services

    def add_routes(self, app: web.Application) -> None:
        """Mount the pages (admin-only)."""
        page = self.console.page
        app.router.add_get("/console/users", page(self.index, admin_only=True))
        app.router.add_get("/console/users/{id:\\d{1,9}}", page(self.show, admin_only=True))
        app.router.add_post("/console/users/{id:\\d{1,9}}", page(self.change, admin_only=True))
        app.router.add_post("/console/users/invite", page(self.invite, admin_only=True))
        delete = "/console/users/{id:\\d{1,9}}/delete"
        app.router.add_get(delete, page(self.confirm_delete, admin_only=True))
        app.router.add_post(delete, page(self.delete, admin_only=True))

    def _area(self, area: str) -> str:
        return self.services.areas.name(area) or area or "—"

    def _role_text(self, user: User) -> str:
        parts = []
        if self.services.users.is_admin(user):
            parts.append(_("admin"))
        if TEAM in user.roles:
            parts.append(_("team") + ": " + ", ".join(self._area(a) for a in user.team_areas))
        return "; ".join(parts) or "—"

    async def index(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Role holders, or users whose name or phone matches the search."""
        query = request.query.get("q", "").strip()[:100]
        if query:
            typed, digits = fold(query), "".join(c for c in query if c.isdigit())
            found = [
                u
                for u in self.services.users.all()
                if typed in fold(u.name) or (len(digits) >= 3 and digits in u.phone)
            ]
        else:
            found = [
                u for u in self.services.users.all() if u.roles or self.services.users.is_admin(u)
            ]
        rows = [
            (
                h('<a href="/console/users/$id">$n</a>', id=u.id, n=u.name or f"#{u.id}"),
                display_phone(u.phone) if u.phone else "—",
                self._area(u.area),
                self._role_text(u),
            )
            for u in found[:LIST_MAX]
        ]
        body = h(
            """$notice<form method="get" class="bar">
<input type="search" name="q" value="$query" placeholder="$hint"><button type="submit">$search</button></form>
<p class="muted">$what</p>$table$invite""",
            notice=notice(request),
            query=query,
            hint=_("Name or phone number"),
            search=_("Search"),
            what=_("Search results") if query else _("People with a role"),
            table=table([_("Name"), _("Phone"), _("Area"), _("Roles")], rows, numeric_from=9),
            invite=self._invite_form(viewer),
        )
        return self.console.html(request, viewer, _("Users and roles"), body)

    def _area_select(self, name: str = "area") -> Safe:
        options = join(
            h('<option value="$v">$t</option>', v=e.id, t=e.name)
            for e in self.services.areas.entries
        )
        return h('<select name="$n" required>$o</select>', n=name, o=options)

    def _invite_form(self, viewer: Viewer, code: str = "") -> Safe:
        shown = h('<p class="notice">$t <strong>$c</strong></p>', t=_("Invite code:"), c=code)
        return h(
            """<h2>$title</h2>$shown<p class="muted">$help</p>
<form method="post" action="/console/users/invite" class="bar">$csrf$areas
<button type="submit">$make</button></form>""",
            title=_("Invite codes"),
            shown=shown if code else Safe(""),
            help=_(
                "A code makes whoever sends it to the bot (/ma CODE) a team member of the area."
            ),
            csrf=csrf_field(viewer),
            areas=self._area_select(),
            make=_("Make a code"),
        )

    async def invite(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Make a one-time invite code to an area's team."""
        area = str((await request.post()).get("area", ""))
        if self.services.areas.get(area) is None:
            raise web.HTTPBadRequest()
        invite = self.services.roles.make_invite(area, viewer.user, self.services.clock.now())
        body = self._invite_form(viewer, invite.code)
        return self.console.html(request, viewer, _("Users and roles"), body)

    def _user(self, request: web.Request) -> User:
        user = self.services.users.get(int(request.match_info["id"]))
        if user is None:
            raise web.HTTPNotFound()
        return user

    async def show(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """One user's roles, with grant and revoke buttons."""
        user = self._user(request)
        configured = self.services.users.is_admin(user) and ADMIN not in user.roles
        areas = join(
            h(
                "<li>$name $button</li>",
                name=self._area(a),
                button=self._button(viewer, user, "revoke", TEAM, _("Remove"), a),
            )
            for a in user.team_areas
        )
        admin_part = (
            h('<p class="muted">$t</p>', t=_("Admin by configuration (ADMIN_TELEGRAM_IDS)."))
            if configured
            else self._button(viewer, user, "revoke", ADMIN, _("Revoke admin"))
            if ADMIN in user.roles
            else self._button(viewer, user, "grant", ADMIN, _("Make admin"))
        )
        body = h(
            """$notice<div class="card"><p><strong>$name</strong> · $phone · $area</p>
<p>$roles_label: $roles</p></div>
<h2>$admin_title</h2>$admin_part
<h2>$team_title</h2><ul>$areas</ul>
<form method="post" action="/console/users/$id" class="bar">$csrf
<input type="hidden" name="action" value="grant"><input type="hidden" name="role" value="team">
$select<button type="submit">$add</button></form>$delete""",
            notice=notice(request),
            name=user.name or f"#{user.id}",
            phone=display_phone(user.phone) if user.phone else "—",
            area=self._area(user.area),
            roles_label=_("Roles"),
            roles=self._role_text(user),
            admin_title=_("Admin"),
            admin_part=admin_part,
            team_title=_("Team member of"),
            areas=areas,
            id=user.id,
            csrf=csrf_field(viewer),
            select=self._area_select(),
            add=_("Add to this area's team"),
            delete=Safe("") if user.id == viewer.user.id else self._delete_link(user),
        )
        return self.console.html(request, viewer, _("Users and roles"), body)

    def _delete_link(self, user: User) -> Safe:
        """The way to the confirmation step of deleting this user."""
        return h(
            '<h2>$title</h2><p><a class="button danger" href="/console/users/$id/delete">'
            "$label</a></p>",
            title=_("Delete"),
            id=user.id,
            label=_("Delete this user and their data…"),
        )

    def _deletable(self, request: web.Request, viewer: Viewer) -> User:
        user = self._user(request)
        if user.id == viewer.user.id:
            raise web.HTTPBadRequest(
                text="Delete your own data from the chat (/xoadulieu), not from the console."
            )
        return user

    async def confirm_delete(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The confirmation step: what deleting this user erases, and the button to do it."""
        user = self._deletable(request, viewer)
        body = h(
            """<div class="card"><p><strong>$name</strong> · $phone · $area</p></div>
<p>$what</p><p><strong>$final</strong></p>
<form method="post" action="/console/users/$id/delete" class="bar">$csrf
<button type="submit" class="danger">$yes</button> <a href="/console/users/$id">$no</a></form>""",
            name=user.name or f"#{user.id}",
            phone=display_phone(user.phone) if user.phone else "—",
            area=self._area(user.area),
            what=_(
                "This erases their profile, listings, photos, lesson progress and questions. "
                "Orders with other people stay, without this person's name, phone or address."
            ),
            final=_("This cannot be undone."),
            id=user.id,
            csrf=csrf_field(viewer),
            yes=_("Delete for good"),
            no=_("Cancel"),
        )
        return self.console.html(request, viewer, _("Delete a user"), body)

    async def delete(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Delete a user and everything stored about them (confirmed on the page before)."""
        user = self._deletable(request, viewer)
        store = self.services.store
        with store.deferred_sync():  # one fsync for the many writes, off the event loop
            self.services.delete_user(user)
        await store.flush()  # on disk before the admin is told
        # The audit line: who deleted whom, by id only (the person's details are gone).
        log.info("console: user %s deleted user %s", viewer.user.id, user.id)
        raise self.console.back("/console/users", "deleted")

    def _button(
        self, viewer: Viewer, user: User, action: str, role: str, label: str, area: str = ""
    ) -> Safe:
        return h(
            '<form method="post" action="/console/users/$id" class="inline">$csrf'
            '<input type="hidden" name="action" value="$action">'
            '<input type="hidden" name="role" value="$role">'
            '<input type="hidden" name="area" value="$area">'
            '<button type="submit" class="$cls">$label</button></form>',
            id=user.id,
            csrf=csrf_field(viewer),
            action=action,
            role=role,
            area=area,
            cls="danger" if action == "revoke" else "",
            label=label,
        )

    async def change(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Grant or revoke a role."""
        user = self._user(request)
        form = await request.post()
        action, role, area = (str(form.get(k, "")) for k in ("action", "role", "area"))
        if action not in ("grant", "revoke") or role not in (ADMIN, TEAM):
            raise web.HTTPBadRequest()
        if role == TEAM and action == "grant" and self.services.areas.get(area) is None:
            raise web.HTTPBadRequest()
        if role == ADMIN and action == "revoke" and user.id == viewer.user.id:
            raise web.HTTPBadRequest(text="An admin cannot revoke their own admin role.")
        if action == "grant":
            self.services.roles.grant(user, role, area)
        else:
            self.services.roles.revoke(user, role, area)
        log.info(
            "console: user %s %sed %s %s to user %s", viewer.user.id, action, role, area, user.id
        )
        raise self.console.back(f"/console/users/{user.id}", "roles")
