"""The province's figures by area and by month: farmers, trained households, listings, orders.

Added up from the tallies (bot/services/tallies.py), which follow the documents as they change
instead of reading them all on each request. Months follow the farmers' clock (Vietnam, UTC+7).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.i18n import N_
from bot.services.tallies import FIELDS, NO_AREA, Tally, month_of

if TYPE_CHECKING:
    from bot.services.container import Services

__all__ = ["COLUMNS", "NO_AREA", "Figures", "Report", "build_report", "month_of", "report_of"]


@dataclass
class Figures:
    """One row of a report."""

    farmers: int = 0  # registered users with the farmer role
    trained: int = 0  # registered users who finished every core lesson
    listings_new: int = 0  # listings posted (any status now)
    listings_active: int = 0  # listings on sale now
    orders: int = 0  # orders placed, cancelled ones left out
    revenue: int = 0  # VND of confirmed, shipping and delivered orders
    broadcasts: int = 0  # broadcasts started (a province-wide one has no area)


# Column headers, in table order; translated with _() where shown.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("farmers", N_("Registered farmers")),
    ("trained", N_("Households trained")),
    ("listings_active", N_("Active listings")),
    ("listings_new", N_("New listings")),
    ("orders", N_("Orders")),
    ("revenue", N_("Revenue (VND)")),
    ("broadcasts", N_("Broadcasts sent")),
)


@dataclass
class Report:
    """Figures per area id and per month ("2026-11"), and the total of the scope."""

    by_area: dict[str, Figures] = field(default_factory=dict)
    by_month: dict[str, Figures] = field(default_factory=dict)
    total: Figures = field(default_factory=Figures)


def build_report(services: Services, areas: Collection[str] | None = None) -> Report:
    """Every figure, limited to `areas` when given (a team member's areas)."""
    return report_of(services.tallies.current(), areas)


def report_of(tally: Tally, areas: Collection[str] | None = None) -> Report:
    """Add up the tally's cells (and its broadcasts) of the areas in scope."""
    scope = set(areas) if areas is not None else None
    report = Report()
    for (area, month), cell in tally.cells.items():
        if scope is not None and area not in scope:
            continue
        rows = [report.by_area.setdefault(area, Figures()), report.total]
        if month:
            rows.append(report.by_month.setdefault(month, Figures()))
        for row in rows:
            for column, name in enumerate(FIELDS):
                if cell[column]:
                    setattr(row, name, getattr(row, name) + cell[column])
    for sent_to, month in tally.broadcasts.values():
        _count_once(report, [a for a in sent_to if scope is None or a in scope], month)
    for area in areas or ():
        report.by_area.setdefault(area, Figures())
    return report


def _count_once(report: Report, areas: list[str], month: str) -> None:
    """A broadcast to several areas: one in each area's row, but once in the total."""
    if not areas:
        return
    for area in areas:
        report.by_area.setdefault(area, Figures()).broadcasts += 1
    report.total.broadcasts += 1
    if month:
        report.by_month.setdefault(month, Figures()).broadcasts += 1
