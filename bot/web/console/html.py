"""HTML for console pages: templates where every value is escaped unless marked `Safe`."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from string import Template
from typing import Any
from urllib.parse import urlencode

from bot.i18n import N_, _
from bot.web.console.auth import Viewer


class Safe(str):
    """Markup already built from escaped parts; inserted as is."""


def esc(value: Any) -> str:
    """Escape a value for HTML text and attributes."""
    return value if isinstance(value, Safe) else html.escape(str(value), quote=True)


def h(template: str, **values: Any) -> Safe:
    """Fill a `string.Template` ($name) with escaped values; `Safe` values go in unchanged."""
    return Safe(Template(template).substitute({k: esc(v) for k, v in values.items()}))


def join(parts: Iterable[Safe]) -> Safe:
    """Concatenate already-safe fragments."""
    return Safe("".join(parts))


def url(path: str, **query: Any) -> str:
    """A path with a query string (empty values left out)."""
    kept = {k: v for k, v in query.items() if v not in ("", None)}
    return f"{path}?{urlencode(kept)}" if kept else path


def csrf_field(viewer: Viewer) -> Safe:
    """The hidden CSRF input every form carries."""
    return h('<input type="hidden" name="csrf" value="$v">', v=viewer.csrf)


def post_button(viewer: Viewer, action: str, label: str, cls: str = "") -> Safe:
    """A one-button form that POSTs to `action`."""
    return h(
        '<form method="post" action="$a" class="inline">$csrf'
        '<button type="submit" class="$cls">$label</button></form>',
        a=action,
        csrf=csrf_field(viewer),
        cls=cls,
        label=label,
    )


def table(
    head: Sequence[str], rows: Iterable[Sequence[Any]], numeric_from: int = 1, cls: str = ""
) -> Safe:
    """A table; columns from `numeric_from` on are right-aligned figures."""
    cells = join(
        h('<th class="$c">$t</th>', t=t, c="num" if i >= numeric_from else "")
        for i, t in enumerate(head)
    )
    body = join(
        h(
            "<tr>$cells</tr>",
            cells=join(
                h('<td class="$c">$v</td>', v=v, c="num" if i >= numeric_from else "")
                for i, v in enumerate(row)
            ),
        )
        for row in rows
    )
    return h(
        '<div class="scroll"><table class="$cls"><thead><tr>$head</tr></thead>'
        "<tbody>$body</tbody></table></div>",
        cls=cls,
        head=cells,
        body=body,
    )


NAV: tuple[tuple[str, str, bool], ...] = (
    ("/console/dashboard", N_("Dashboard"), False),
    ("/console/faq", N_("FAQ"), True),
    ("/console/questions", N_("Questions"), False),
    ("/console/users", N_("Users"), True),
    ("/console/lessons", N_("Lessons"), False),
    ("/console/broadcasts", N_("Broadcasts"), False),
)


def layout(title: str, body: Safe, viewer: Viewer | None, lang: str, path: str = "") -> Safe:
    """A whole page: header, navigation for this viewer, language switch, sign-out."""
    nav = Safe("")
    if viewer is not None:
        links = join(
            h('<a href="$u" class="$c">$t</a>', u=u, t=_(t), c="on" if path.startswith(u) else "")
            for u, t, admin_only in NAV
            if viewer.admin or not admin_only
        )
        out = post_button(viewer, "/console/logout", _("Sign out"), "link")
        nav = h("<nav>$links $out</nav>", links=links, out=out)
    other = "en" if lang == "vi" else "vi"
    switch = h(
        '<a class="lang" href="$u">$t</a>',
        u=url(path or "/console", lang=other),
        t="English" if other == "en" else "Tiếng Việt",
    )
    return h(
        """<!doctype html>
<html lang="$lang"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>$title · Nông Dân Số</title>
<link rel="stylesheet" href="/console/static/console.css">
</head><body>
<header><strong>Nông Dân Số</strong> <span class="muted">$console</span> $switch</header>
$nav
<main><h1>$title</h1>
$body
</main></body></html>
""",
        lang=lang,
        title=title,
        console=_("Console"),
        switch=switch,
        nav=nav,
        body=body,
    )
