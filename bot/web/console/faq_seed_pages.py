"""FAQ seed updates (admins): add new seed entries, review changed ones and accept them."""

from __future__ import annotations

from aiohttp import web

from bot.i18n import _
from bot.services.faq_seed import FaqSeed, SeedReport
from bot.web.console.auth import Viewer
from bot.web.console.base import Console
from bot.web.console.html import Safe, h, join, post_button

_KEY = "{key:[a-z0-9-]{1,80}}"


class FaqSeedPages:
    """`python -m bot faq update` / `faq accept`, as console pages."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.faq = console.services.faq

    def add_routes(self, app: web.Application) -> None:
        """Mount the pages (admin-only, POST: an update adds entries)."""
        page = self.console.page
        app.router.add_post("/console/faq/seed", page(self.update, admin_only=True))
        app.router.add_post(f"/console/faq/seed/{_KEY}", page(self.accept, admin_only=True))

    def _seed(self) -> FaqSeed:
        if self.faq.seed_path is None:
            raise web.HTTPNotFound()
        return FaqSeed(self.faq, self.faq.seed_path)

    def _now(self) -> str:
        return self.console.services.clock.now().isoformat()

    async def update(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Add new seed entries; list the changed ones, each with an Accept button."""
        report = self._seed().update(self._now())
        return self.console.html(
            request, viewer, _("Update from the seed file"), self._body(viewer, report)
        )

    async def accept(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Apply the seed's version of one entry, then show what is still waiting."""
        seed = self._seed()
        applied = seed.accept([request.match_info["key"]], self._now())
        report = seed.update(self._now())
        said = (
            h('<p class="notice">$t $k</p>', t=_("Accepted:"), k=applied[0])
            if applied
            else h('<p class="notice">$t</p>', t=_("Nothing to accept for that entry."))
        )
        body = join([said, self._body(viewer, report)])
        return self.console.html(request, viewer, _("Update from the seed file"), body)

    def _body(self, viewer: Viewer, report: SeedReport) -> Safe:
        if report.error:
            return h(
                '<p class="error">$t $e</p>', t=_("The seed file cannot be read:"), e=report.error
            )
        added = join(h("<li>$k</li>", k=key) for key in report.added)
        changes = join(
            h(
                """<section class="card"><h3>$key</h3>$warn
<p class="muted">$now_t</p><p>$stored</p><p class="muted">$seed_t</p><p>$seed</p>$button</section>""",
                key=c.key,
                warn=h(
                    '<p class="error">$t</p>',
                    t=_("An admin edited this entry: accepting replaces their text."),
                )
                if c.edited
                else Safe(""),
                now_t=_("Now:"),
                stored=c.stored,
                seed_t=_("In the new seed:"),
                seed=c.seed,
                button=post_button(
                    viewer, f"/console/faq/seed/{c.key}", _("Accept the seed's version")
                ),
            )
            for c in report.changed
        )
        return h(
            """<p>$added_t $n_added</p><ul>$added</ul><h2>$changed_t $n_changed</h2>$changes
<p><a href="/console/faq">$back</a></p>""",
            added_t=_("New entries added:"),
            n_added=len(report.added),
            added=added,
            changed_t=_("Changed in the seed, waiting for you:"),
            n_changed=len(report.changed),
            changes=changes,
            back=_("Back to the FAQ"),
        )
