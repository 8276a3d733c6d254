"""The dashboard: figures by area and by month, bar charts, and each table as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from aiohttp import web

from bot.csv_cells import defuse
from bot.i18n import _, format_moment, format_number, format_vnd
from bot.services.stats import COLUMNS, Figures, Report, build_report
from bot.web.console.auth import Viewer
from bot.web.console.base import Console, area_param
from bot.web.console.charts import bar_chart
from bot.web.console.html import Safe, esc, h, join, table, url

CHART_ROWS = 15  # areas in a chart: the busiest ones (the table has them all)


class Dashboard:
    """The figures pages."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def add_routes(self, app: web.Application) -> None:
        """Mount the dashboard and its CSV exports."""
        app.router.add_get("/console/dashboard", self.console.page(self.show))
        app.router.add_get("/console/dashboard/areas.csv", self.console.page(self.areas_csv))
        app.router.add_get("/console/dashboard/months.csv", self.console.page(self.months_csv))

    def _report(self, request: web.Request, viewer: Viewer) -> tuple[str, Report]:
        area = area_param(request, viewer)
        scope = (area,) if area else viewer.scope
        return area, build_report(self.console.services, scope)

    def area_name(self, area: str) -> str:
        """An area's display name ("—" for figures with no known area)."""
        return self.console.services.areas.name(area) or area or "—"

    def _area_rows(self, report: Report) -> list[tuple[str, Figures]]:
        return sorted(
            report.by_area.items(), key=lambda kv: (-kv[1].farmers, self.area_name(kv[0]))
        )

    async def show(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The dashboard page."""
        area, report = self._report(request, viewer)
        head = [_(label) for _name, label in COLUMNS]
        area_rows = [(self.area_name(a), *_cells(f)) for a, f in self._area_rows(report)]
        area_rows.append((_("Total"), *_cells(report.total)))
        month_rows = [(m, *_cells(f)) for m, f in sorted(report.by_month.items())]
        top = self._area_rows(report)[:CHART_ROWS]
        months = sorted(report.by_month.items())
        charts = join(
            [
                bar_chart(
                    _("Registered farmers by area"),
                    [(self.area_name(a), f.farmers) for a, f in top],
                ),
                bar_chart(
                    _("Households trained by area"),
                    [(self.area_name(a), f.trained) for a, f in top],
                ),
                bar_chart(_("Orders by month"), [(m, f.orders) for m, f in months]),
                bar_chart(
                    _("Revenue by month"), [(m, f.revenue) for m, f in months], show=format_vnd
                ),
            ]
        )
        body = h(
            """$alerts$picker
<h2>$by_area</h2>$area_table<p><a class="button" href="$area_csv">$csv</a></p>
<h2>$by_month</h2>$month_table<p><a class="button" href="$month_csv">$csv</a></p>
$charts
<p class="muted">$note</p>""",
            alerts=self._alerts(viewer),
            picker=self._picker(viewer, area),
            by_area=_("By area"),
            area_table=table([_("Area"), *head], area_rows, cls="figures"),
            area_csv=url("/console/dashboard/areas.csv", area=area),
            by_month=_("By month"),
            month_table=table([_("Month"), *head], month_rows, cls="figures"),
            month_csv=url("/console/dashboard/months.csv", area=area),
            csv=_("Download CSV"),
            charts=charts,
            note=_(
                "Orders leave out cancelled ones; revenue counts confirmed, shipping and "
                "delivered orders. Months follow Vietnam time."
            ),
        )
        return self.console.html(request, viewer, _("Dashboard"), body)

    def _alerts(self, viewer: Viewer) -> Safe:
        """Open problems only an admin can fix (e.g. the Zalo OA token), as banners."""
        if not viewer.admin:
            return Safe("")
        return join(
            h(
                '<p class="error" role="alert"><strong>$title</strong> $text <span '
                'class="muted">($since)</span></p>',
                title=_("Needs your attention:"),
                text=alert.text(),
                since=format_moment(datetime.fromisoformat(alert.since)),
            )
            for alert in self.console.services.alerts.active()
        )

    def _picker(self, viewer: Viewer, area: str) -> Safe:
        """A form to narrow the figures to one area (a team member: one of theirs)."""
        areas = (
            viewer.team_areas
            if not viewer.admin
            else tuple(e.id for e in self.console.services.areas.entries)
        )
        options = join(
            h(
                '<option value="$v"$sel>$t</option>',
                v=a,
                t=self.area_name(a),
                sel=Safe(" selected") if a == area else Safe(""),
            )
            for a in areas
        )
        every = _("All areas") if viewer.admin else _("All my areas")
        return h(
            '<form method="get" class="bar"><select name="area"><option value="">$every</option>'
            '$options</select><button type="submit">$show</button></form>',
            every=every,
            options=options,
            show=_("Show"),
        )

    async def areas_csv(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The by-area table as CSV."""
        _area, report = self._report(request, viewer)
        rows = [[a, self.area_name(a), *_raw(f)] for a, f in self._area_rows(report)]
        return _csv("areas.csv", ["area_id", "area", *(n for n, _l in COLUMNS)], rows)

    async def months_csv(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The by-month table as CSV."""
        _area, report = self._report(request, viewer)
        rows = [[m, *_raw(f)] for m, f in sorted(report.by_month.items())]
        return _csv("months.csv", ["month", *(n for n, _l in COLUMNS)], rows)


def _cells(figures: Figures) -> list[str]:
    """A row's figures formatted the Vietnamese way."""
    return [
        format_vnd(getattr(figures, n)) if n == "revenue" else format_number(getattr(figures, n))
        for n, _label in COLUMNS
    ]


def _raw(figures: Figures) -> list[int]:
    return [getattr(figures, n) for n, _label in COLUMNS]


def _csv(name: str, head: Sequence[str], rows: Sequence[Sequence[object]]) -> web.Response:
    """A CSV download (UTF-8 with BOM, so spreadsheet apps read the accents)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return web.Response(
        body=out.getvalue().encode("utf-8-sig"),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{esc(name)}"',
            "Cache-Control": "no-store",
        },
    )


def _cell(value: object) -> object:
    """Defuse spreadsheet formulas in text cells (names typed by users)."""
    return defuse(value) if isinstance(value, str) else value
