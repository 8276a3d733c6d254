"""Bar charts drawn on the server as inline SVG: no script, no CDN, readable on a phone."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.web.console.html import Safe, h, join

ROW = 22  # px per bar
LABEL_W = 150  # px for the labels on the left
BAR_W = 200  # px for the longest bar
VALUE_W = 110  # px for the figure after a bar


def bar_chart(
    title: str, rows: Sequence[tuple[str, int]], show: Callable[[int], str] = str
) -> Safe:
    """A horizontal bar chart of (label, value) rows, with each value written after its bar."""
    if not rows:
        return Safe("")
    top = max((value for _label, value in rows), default=0) or 1
    height = ROW * len(rows) + 8
    width = LABEL_W + BAR_W + VALUE_W
    bars = join(
        h(
            '<text x="$lx" y="$ty" text-anchor="end">$label</text>'
            '<rect x="$bx" y="$y" width="$w" height="$bh" rx="2"></rect>'
            '<text x="$vx" y="$ty" class="v">$value</text>',
            lx=LABEL_W - 6,
            ty=i * ROW + 16,
            label=label if len(label) <= 22 else label[:21] + "…",
            bx=LABEL_W,
            y=i * ROW + 4,
            w=max(round(BAR_W * value / top), 1 if value else 0),
            bh=ROW - 6,
            vx=LABEL_W + max(round(BAR_W * value / top), 0) + 4,
            value=show(value),
        )
        for i, (label, value) in enumerate(rows)
    )
    return h(
        '<figure class="chart"><figcaption>$title</figcaption>'
        '<svg viewBox="0 0 $w $hgt" width="100%" role="img" aria-label="$title"'
        ' xmlns="http://www.w3.org/2000/svg">$bars</svg></figure>',
        title=title,
        w=width,
        hgt=height,
        bars=bars,
    )
