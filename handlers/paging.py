"""Lists shown a page at a time, with Next/Previous choices (orders, my orders)."""

from __future__ import annotations

from typing import TypeVar

from bot.core.flow import Choice, Ctx
from bot.i18n import _

PAGE_SIZE = 5
T = TypeVar("T")


def page_of(ctx: Ctx, found: list[T], size: int = PAGE_SIZE) -> tuple[list[T], int, int]:
    """The items on the form's page (kept in range as the list changes), its index, the count."""
    pages = max(1, -(-len(found) // size))
    page = min(max(int(ctx.data.get("page", 0)), 0), pages - 1)
    return found[page * size : (page + 1) * size], page, pages


def turn_choices(prefix: str, page: int, pages: int) -> list[Choice]:
    """Next/Previous choices ("<prefix>:next", "<prefix>:prev") where there is such a page."""
    choices = []
    if page + 1 < pages:
        choices.append(Choice(f"{prefix}:next", _("Next page ▶"), ("tiep", "trang sau")))
    if page > 0:
        choices.append(Choice(f"{prefix}:prev", _("◀ Previous page"), ("truoc", "trang truoc")))
    return choices


def turned(ctx: Ctx, prefix: str, key: str) -> bool:
    """Move the form's page if `key` is one of the turn choices; whether it was."""
    step = {f"{prefix}:next": 1, f"{prefix}:prev": -1}.get(key)
    if step is None:
        return False
    ctx.data["page"] = int(ctx.data.get("page", 0)) + step
    return True
