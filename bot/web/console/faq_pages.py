"""FAQ pages (admins): search, add, edit, delete, CSV import/export, worst-rated first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web

from bot.i18n import _
from bot.services.faq import DuplicateQuestion, FaqEntry
from bot.services.faq_csv import (
    MAX_ANSWER,
    MAX_QUESTION,
    FaqCsvError,
    parse_csv,
    split_list,
    write_csv,
)
from bot.text import clip
from bot.web.console.auth import Viewer
from bot.web.console.base import Console, notice
from bot.web.console.html import Safe, csrf_field, h, join, post_button, table

MAX_IMPORT = 5 * 1024 * 1024  # bytes of CSV accepted from a browser


def rating(entry: FaqEntry) -> tuple[float, int]:
    """Sort key, worst first: the share of 👍 (smoothed so one vote is not 0 %), then 👎."""
    return ((entry.up + 1) / (entry.up + entry.down + 2), -entry.down)


class FaqPages:
    """The FAQ editor."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.faq = console.services.faq

    def add_routes(self, app: web.Application) -> None:
        """Mount the FAQ pages (all admin-only)."""
        page = self.console.page
        app.router.add_get("/console/faq", page(self.index, admin_only=True))
        app.router.add_get("/console/faq.csv", page(self.export, admin_only=True))
        app.router.add_post("/console/faq/import", page(self.import_csv, admin_only=True))
        app.router.add_get("/console/faq/new", page(self.new, admin_only=True))
        app.router.add_post("/console/faq/new", page(self.create, admin_only=True))
        app.router.add_get("/console/faq/{id:\\d{1,9}}", page(self.edit, admin_only=True))
        app.router.add_post("/console/faq/{id:\\d{1,9}}", page(self.save, admin_only=True))
        app.router.add_post(
            "/console/faq/{id:\\d{1,9}}/delete", page(self.delete, admin_only=True)
        )

    def _entry(self, request: web.Request) -> FaqEntry:
        entry = self.faq.get(int(request.match_info["id"]))
        if entry is None:
            raise web.HTTPNotFound()
        return entry

    async def index(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Entries, worst rated first, or those matching a search."""
        query = request.query.get("q", "").strip()[:200]
        entries = self.faq.search(query, limit=50) if query else sorted(self.faq.all(), key=rating)
        rows = [
            (
                h('<a href="/console/faq/$id">$q</a>', id=e.id, q=e.question),
                clip(e.answer, 140),
                e.up,
                e.down,
            )
            for e in entries
        ]
        body = h(
            """$notice
<form method="get" class="bar"><input type="search" name="q" value="$query" placeholder="$search">
<button type="submit">$search</button></form>
<p class="bar"><a class="button" href="/console/faq/new">$add</a>
<a class="button" href="/console/faq.csv">$export</a> $seed</p>
$table
<h2>$import_title</h2>
<form method="post" action="/console/faq/import" enctype="multipart/form-data" class="stack">
$csrf<p class="muted">$import_help</p><input type="file" name="file" accept=".csv,text/csv" required>
<button type="submit">$do_import</button></form>""",
            notice=notice(request),
            query=query,
            search=_("Search"),
            add=_("Add an entry"),
            export=_("Export CSV"),
            seed=post_button(viewer, "/console/faq/seed", _("Update from the seed file")),
            table=table([_("Question"), _("Answer"), "👍", "👎"], rows, numeric_from=2),
            import_title=_("Import CSV"),
            csrf=csrf_field(viewer),
            import_help=_(
                "Columns: question,answer,alternatives,tags (alternatives and tags separated "
                "by |), UTF-8, the same format as the export. Same question = same entry."
            ),
            do_import=_("Import"),
        )
        return self.console.html(request, viewer, _("FAQ"), body)

    async def export(self, _request: web.Request, _viewer: Viewer) -> web.StreamResponse:
        """Every entry in the command line's CSV format."""
        return web.Response(
            body=write_csv([e.row() for e in self.faq.all()]),
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="faq.csv"',
                "Cache-Control": "no-store",
            },
        )

    async def import_csv(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Add or update entries from an uploaded CSV; show what happened, row by row."""
        form = await request.post()
        upload = form.get("file")
        data = upload.file.read(MAX_IMPORT + 1) if isinstance(upload, web.FileField) else b""
        lines: list[str] = []
        if len(data) > MAX_IMPORT:
            summary = _("The file is too big (at most 5 MB). Nothing was imported.")
        else:
            try:
                parsed = parse_csv(data)
            except FaqCsvError as exc:
                summary = _("The file cannot be read; nothing was imported:") + " " + str(exc)
            else:
                report = self.faq.import_rows(
                    parsed.rows, self.console.services.clock.now().isoformat()
                )
                lines = [*parsed.errors, *report.errors]
                summary = _("Added {added}, updated {updated}, unchanged {unchanged}.").format(
                    added=report.added, updated=report.updated, unchanged=report.unchanged
                )
        errors = join(h("<li>$e</li>", e=line) for line in lines)
        body = h(
            '<p class="notice">$summary</p>$list<p><a href="/console/faq">$back</a></p>',
            summary=summary,
            list=h('<p>$t</p><ul class="error">$e</ul>', t=_("Rows skipped:"), e=errors)
            if lines
            else Safe(""),
            back=_("Back to the FAQ"),
        )
        return self.console.html(request, viewer, _("Import CSV"), body)

    def _form(self, viewer: Viewer, action: str, values: dict[str, str], error: str) -> Safe:
        return h(
            """$error<form method="post" action="$action" class="stack">$csrf
<label for="question">$q_label</label>
<input type="text" id="question" name="question" value="$question" maxlength="$max_q" required>
<label for="answer">$a_label</label>
<textarea id="answer" name="answer" maxlength="$max_a" required>$answer</textarea>
<label for="alternatives">$alt_label</label>
<textarea id="alternatives" name="alternatives">$alternatives</textarea>
<label for="tags">$tag_label</label>
<input type="text" id="tags" name="tags" value="$tags">
<p><button type="submit" class="primary">$save</button></p></form>""",
            error=h('<p class="error">$e</p>', e=error) if error else Safe(""),
            action=action,
            csrf=csrf_field(viewer),
            q_label=_("Question"),
            question=values.get("question", ""),
            max_q=MAX_QUESTION,
            a_label=_("Answer"),
            answer=values.get("answer", ""),
            max_a=MAX_ANSWER,
            alt_label=_("Other ways to ask (one per line)"),
            alternatives=values.get("alternatives", ""),
            tag_label=_("Tags (separated by |)"),
            tags=values.get("tags", ""),
            save=_("Save"),
        )

    async def new(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The form for a new entry."""
        body = self._form(viewer, "/console/faq/new", {}, "")
        return self.console.html(request, viewer, _("Add an entry"), body)

    async def create(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Store a new entry."""
        values, error = _read(await request.post())
        if not error:
            try:
                entry = self.faq.add(
                    values["question"],
                    values["answer"],
                    _lines(values["alternatives"]),
                    split_list(values["tags"], "|;,"),
                    self.console.services.clock.now().isoformat(),
                )
            except DuplicateQuestion:
                error = _("Another entry already has this question.")
            else:
                raise self.console.back(f"/console/faq/{entry.id}", "added")
        body = self._form(viewer, "/console/faq/new", values, error)
        return self.console.html(request, viewer, _("Add an entry"), body, status=400)

    async def edit(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """An entry's form, its votes, and the delete button."""
        entry = self._entry(request)
        values = {
            "question": entry.question,
            "answer": entry.answer,
            "alternatives": "\n".join(entry.alternatives),
            "tags": " | ".join(entry.tags),
        }
        return self._edit_page(request, viewer, entry, values, "")

    def _edit_page(
        self,
        request: web.Request,
        viewer: Viewer,
        entry: FaqEntry,
        values: dict[str, str],
        error: str,
    ) -> web.Response:
        body = h(
            """$notice<p class="muted">$votes</p>$form<h2>$delete_title</h2>$delete""",
            notice=notice(request),
            votes=f"#{entry.id} · {entry.key} · 👍 {entry.up} · 👎 {entry.down}",
            form=self._form(viewer, f"/console/faq/{entry.id}", values, error),
            delete_title=_("Delete this entry"),
            delete=post_button(viewer, f"/console/faq/{entry.id}/delete", _("Delete"), "danger"),
        )
        return self.console.html(
            request, viewer, _("Edit an entry"), body, status=400 if error else 200
        )

    async def save(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Store an edited entry: the bot answers with it at once."""
        entry = self._entry(request)
        values, error = _read(await request.post())
        if not error:
            changed = replace(  # a copy: a refused save leaves the entry in use untouched
                entry,
                question=values["question"],
                answer=values["answer"],
                alternatives=_lines(values["alternatives"]),
                tags=split_list(values["tags"], "|;,"),
                updated_at=self.console.services.clock.now().isoformat(),
            )
            try:
                self.faq.save(changed)
            except DuplicateQuestion:
                error = _("Another entry already has this question.")
            else:
                raise self.console.back(f"/console/faq/{entry.id}", "saved")
        return self._edit_page(request, viewer, entry, values, error)

    async def delete(self, request: web.Request, _viewer: Viewer) -> web.StreamResponse:
        """Remove an entry."""
        self.faq.delete(self._entry(request).id)
        raise self.console.back("/console/faq", "deleted")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read(form: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    """The entry form's values, and what is wrong with them ("" if nothing)."""
    values = {
        k: str(form.get(k, "")).strip() for k in ("question", "answer", "alternatives", "tags")
    }
    if not values["question"] or not values["answer"]:
        return values, _("Please fill in the question and the answer.")
    if len(values["question"]) > MAX_QUESTION or len(values["answer"]) > MAX_ANSWER:
        return values, _("The question or the answer is too long.")
    return values, ""
