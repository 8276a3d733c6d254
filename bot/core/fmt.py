"""Safe formatting of reply text: user values are escaped, the template's own tags are kept."""

from __future__ import annotations

import html
import re
from typing import Any

_TAG = re.compile(r"<[^>]+>")


def esc(value: Any) -> str:
    """Escape a value for Telegram-style HTML."""
    return html.escape(str(value), quote=False)


def fmt(template: str, **values: Any) -> str:
    """Fill a (translated) template with escaped values: fmt(_("Hi {name}"), name=user_text)."""
    return template.format(**{k: esc(v) for k, v in values.items()})


def label(template: str, **values: Any) -> str:
    """Fill a template for a button label: plain text, shown as is, so nothing is escaped."""
    return template.format(**values)


def to_plain(text: str) -> str:
    """Turn reply HTML into plain text for channels without formatting."""
    return html.unescape(_TAG.sub("", text))
