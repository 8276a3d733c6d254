"""Lessons: completion rates, validation errors of the content files, reload (admins)."""

from __future__ import annotations

from aiohttp import web

from bot.core.fmt import fmt
from bot.i18n import _, format_number
from bot.services.lesson_content import load_lessons
from bot.web.console.auth import Viewer
from bot.web.console.base import Console, notice
from bot.web.console.html import Safe, h, join, post_button, table


class LessonPages:
    """The lessons overview."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.services = console.services

    def add_routes(self, app: web.Application) -> None:
        """Mount the page and the reload action."""
        page = self.console.page
        app.router.add_get("/console/lessons", page(self.index))
        app.router.add_post("/console/lessons/reload", page(self.reload, admin_only=True))

    async def index(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Each lesson with how many of the viewer's farmers finished it."""
        service = self.services.lessons
        counts = service.lesson_counts(viewer.scope)
        rows = []
        for lesson in service.lessons.lessons:
            started, done = counts.started[lesson.id], counts.done[lesson.id]
            rate = (
                f"{format_number(round(100 * done / counts.farmers))} %" if counts.farmers else "—"
            )
            core = _("yes") if lesson.core else ""
            rows.append((lesson.title, core, started, done, rate))
        summary = fmt(
            _("{trained} of {farmers} registered farmers finished the core course."),
            trained=counts.trained,
            farmers=counts.farmers,
        )
        body = h(
            "$notice<p>$summary</p>$table$errors$reload",
            notice=notice(request),
            summary=summary,
            table=table(
                [_("Lesson"), _("Core"), _("Started"), _("Finished"), _("Completion")],
                rows,
                numeric_from=2,
            ),
            errors=self._errors() if viewer.admin else Safe(""),
            reload=post_button(viewer, "/console/lessons/reload", _("Reload the lesson files"))
            if viewer.admin
            else Safe(""),
        )
        return self.console.html(request, viewer, _("Lessons"), body)

    def _errors(self) -> Safe:
        """What is wrong in the lesson files on disk now (checked without applying them)."""
        errors = load_lessons(self.services.lessons.lessons_dir).errors
        if not errors:
            return h('<p class="muted">$t</p>', t=_("All lesson files are valid."))
        items = join(
            h("<li><code>$f</code> $where: $m</li>", f=e.file, where=e.field or "—", m=e.message)
            for e in errors
        )
        return h(
            '<h2>$t</h2><ul class="error">$items</ul>',
            t=_("Problems in lesson files"),
            items=items,
        )

    async def reload(self, _request: web.Request, _viewer: Viewer) -> web.StreamResponse:
        """Load the lesson files again (a broken file keeps its previous version)."""
        self.services.lessons.reload()
        raise self.console.back("/console/lessons", "reloaded")
