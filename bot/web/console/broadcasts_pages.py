"""Broadcasts: compose with the audience count, progress of running ones, delivery reports.

Same rules as the chat's /thongbao: admins reach any area (or all at once), team members only
their own areas. Without scripts, "live" audience counting is a Count button that shows the
number for the form as filled, before anything is sent. A hidden form id makes a double
submit create one broadcast.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.core.fmt import fmt
from bot.i18n import N_, _, format_number
from bot.services.broadcast import (
    CANCELLED,
    DONE,
    ROLE_FILTERS,
    SCHEDULED,
    SENDING,
    TEXT_MAX,
    TRAINED_FILTERS,
    Audience,
    Broadcast,
)
from bot.services.outbox import BLOCKED, FAILED, OUT_OF_REACH, PENDING, SENT, SKIPPED
from bot.services.users import BUYER, FARMER, TEAM
from bot.text import clip
from bot.web.console.auth import Viewer
from bot.web.console.base import Console, Forbidden, notice
from bot.web.console.html import Safe, csrf_field, h, join, post_button, table

log = logging.getLogger(__name__)

LIST_MAX = 50  # broadcasts listed, newest first
ROLE_LABELS = {
    "": N_("anyone"),
    FARMER: N_("farmers"),
    BUYER: N_("buyers"),
    TEAM: N_("team members"),
}
TRAINED_LABELS = {"": N_("any"), "yes": N_("trained"), "no": N_("not yet trained")}
STATUS_LABELS = {
    SCHEDULED: N_("scheduled"),
    SENDING: N_("sending"),
    DONE: N_("finished"),
    CANCELLED: N_("stopped"),
}


class BroadcastPages:
    """The broadcasts page and its actions."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.services = console.services

    def add_routes(self, app: web.Application) -> None:
        """Mount the page, compose and stop."""
        page = self.console.page
        app.router.add_get("/console/broadcasts", page(self.index))
        app.router.add_post("/console/broadcasts", page(self.compose))
        app.router.add_post("/console/broadcasts/{id:\\d{1,9}}/stop", page(self.stop))

    def _visible(self, viewer: Viewer, broadcast: Broadcast) -> bool:
        """Admins see every broadcast; a team member those of their areas or their own."""
        areas = list(broadcast.audience.get("areas") or [])
        if viewer.admin or broadcast.author_id == viewer.user.id:
            return True
        return bool(areas) and all(viewer.may_see(a) for a in areas)

    def _areas_text(self, areas: list[str]) -> str:
        names = [self.services.areas.name(a) or a for a in areas]
        return ", ".join(names) if names else _("the whole province")

    def _row(self, viewer: Viewer, broadcast: Broadcast) -> tuple[Any, ...]:
        counts = self.services.outbox.counts(broadcast.id)
        stop = Safe("")
        if broadcast.status in (SCHEDULED, SENDING):
            url = f"/console/broadcasts/{broadcast.id}/stop"
            stop = post_button(viewer, url, _("Stop"), "danger")
        return (
            f"#{broadcast.id}",
            clip(broadcast.text, 80),
            self._areas_text(list(broadcast.audience.get("areas") or [])),
            h("$s $b", s=_(STATUS_LABELS.get(broadcast.status, broadcast.status)), b=stop),
            format_number(counts.total),
            format_number(counts[SENT]),
            format_number(counts[FAILED]),
            format_number(counts[BLOCKED]),
            format_number(counts[SKIPPED] + counts[OUT_OF_REACH]),
            format_number(counts[PENDING] + counts.by_status.get("sending", 0)),
        )

    async def index(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The compose form and the broadcasts this viewer may see."""
        return self._page(request, viewer, {}, "")

    def _page(
        self, request: web.Request, viewer: Viewer, values: Mapping[str, Any], said: str
    ) -> web.Response:
        repo = self.services.broadcasts
        found = [b for s in (SCHEDULED, SENDING, DONE, CANCELLED) for b in repo.with_status(s)]
        shown = sorted((b for b in found if self._visible(viewer, b)), key=lambda b: -b.id)
        rows = [self._row(viewer, b) for b in shown[:LIST_MAX]]
        head = [
            "#",
            _("Message"),
            _("Areas"),
            _("Status"),
            _("Recipients"),
            _("Delivered"),
            _("Failed"),
            _("Blocked"),
            _("Opted out"),
            _("Waiting"),
        ]
        body = h(
            "$notice$form<h2>$sent</h2>$table",
            notice=notice(request),
            form=self._form(viewer, values, said),
            sent=_("Broadcasts"),
            table=table(head, rows, numeric_from=4),
        )
        return self.console.html(request, viewer, _("Broadcasts"), body)

    def _form(self, viewer: Viewer, values: Mapping[str, Any], said: str) -> Safe:
        chosen = set(values.get("areas", []))
        areas = (
            [(e.id, e.name) for e in self.services.areas.entries]
            if viewer.admin
            else [(a, self.services.areas.name(a) or a) for a in viewer.team_areas]
        )
        area_options = join(
            h(
                '<option value="$v"$s>$t</option>',
                v=a,
                t=name,
                s=Safe(" selected") if a in chosen else Safe(""),
            )
            for a, name in areas
        )

        def select(name: str, keys: tuple[str, ...], labels: Mapping[str, str]) -> Safe:
            return join(
                h(
                    '<option value="$v"$s>$t</option>',
                    v=k,
                    t=_(labels[k]),
                    s=Safe(" selected") if values.get(name, "") == k else Safe(""),
                )
                for k in keys
            )

        hint = (
            _("No area chosen = the whole province.")
            if viewer.admin
            else _("No area chosen = all your areas.")
        )
        return h(
            """<h2>$title</h2>$said<form method="post" action="/console/broadcasts" class="stack">
$csrf<input type="hidden" name="form" value="$form_id">
<label for="text">$text_label</label>
<textarea id="text" name="text" maxlength="$max" required>$text</textarea>
<label for="areas">$areas_label</label><select id="areas" name="areas" multiple size="5">$areas</select>
<p class="muted">$hint</p>
<label for="role">$role_label</label><select id="role" name="role">$roles</select>
<label for="trained">$trained_label</label><select id="trained" name="trained">$trained</select>
<p class="bar"><button type="submit" name="do" value="count">$count</button>
<button type="submit" name="do" value="send" class="primary">$send</button></p></form>""",
            title=_("New broadcast"),
            said=h('<p class="notice">$t</p>', t=said) if said else Safe(""),
            csrf=csrf_field(viewer),
            form_id=values.get("form") or secrets.token_urlsafe(12),
            text_label=_("Message"),
            max=TEXT_MAX,
            text=values.get("text", ""),
            areas_label=_("Areas"),
            areas=area_options,
            hint=hint,
            role_label=_("Who"),
            roles=select("role", ROLE_FILTERS, ROLE_LABELS),
            trained_label=_("Lessons"),
            trained=select("trained", TRAINED_FILTERS, TRAINED_LABELS),
            count=_("Count recipients"),
            send=_("Send now"),
        )

    def _audience(self, viewer: Viewer, form: Mapping[str, Any]) -> Audience:
        """The audience a form asks for; refused outside the viewer's areas."""
        areas = [a for a in form.get("areas", []) if a]
        if any(self.services.areas.get(a) is None for a in areas):
            raise web.HTTPBadRequest()
        if not viewer.admin:
            areas = areas or list(viewer.team_areas)
            if not all(viewer.may_see(a) for a in areas):
                raise Forbidden(",".join(areas))
        role = str(form.get("role", ""))
        trained = str(form.get("trained", ""))
        if role not in ROLE_FILTERS or trained not in TRAINED_FILTERS:
            raise web.HTTPBadRequest()
        return Audience(areas=areas, role=role, trained=trained)

    async def compose(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Count the audience, or send the broadcast now."""
        posted = await request.post()
        form: dict[str, Any] = {
            "areas": [str(a) for a in posted.getall("areas", [])],
            **{k: str(posted.get(k, "")).strip() for k in ("text", "role", "trained", "form")},
        }
        audience = self._audience(viewer, form)
        count = len(self.services.broadcasts.recipients(audience, viewer.user.id))
        said = fmt(
            _("It would go to {count} people in {areas}."),
            count=format_number(count),
            areas=self._areas_text(audience.areas),
        )
        text = form["text"][:TEXT_MAX]
        if posted.get("do") != "send" or not text or not count:
            if posted.get("do") == "send":
                said = _("Write a message for people who match the audience.") + " " + said
            return self._page(request, viewer, form, said)
        now = self.services.clock.now()
        form_id = "console:" + form["form"][:40]
        broadcast = self.services.broadcasts.create(
            viewer.user, text, "", audience, now, now, form_id
        )
        if broadcast.status == SCHEDULED:
            self.services.outbox.start(broadcast, now)
        log.info("console: user %s sent broadcast %s", viewer.user.id, broadcast.id)
        raise self.console.back("/console/broadcasts", "broadcast")

    async def stop(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Stop a scheduled or running broadcast."""
        broadcast = self.services.broadcasts.get(int(request.match_info["id"]))
        if broadcast is None:
            raise web.HTTPNotFound()
        if not self._visible(viewer, broadcast):
            raise Forbidden(str(broadcast.id))
        self.services.outbox.cancel(broadcast.id, self.services.clock.now())
        raise self.console.back("/console/broadcasts", "stopped")
