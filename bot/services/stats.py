"""The province's figures by area and by month: farmers, trained households, listings, orders.

Read from whichever services exist (`getattr` guards features that may be absent). Months
follow the farmers' clock (Vietnam, UTC+7).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.i18n import N_, VN_TZ
from bot.services.broadcast import CANCELLED as STOPPED
from bot.services.broadcast import DONE, SENDING
from bot.services.listings import ACTIVE
from bot.services.orders import CANCELLED, EARNING, STATUSES
from bot.services.users import FARMER

if TYPE_CHECKING:
    from bot.services.container import Services

NO_AREA = ""  # orders and listings whose area is unknown (e.g. a deleted farmer)


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


def month_of(stamp: str) -> str:
    """An ISO time stamp as its month in Vietnam ("2026-11"), or "" if there is none."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(VN_TZ):%Y-%m}"


class _Tally:
    """Counts into area rows and month rows at once."""

    def __init__(self, scope: Collection[str] | None) -> None:
        self.scope = scope
        self.report = Report()

    def count(self, area: str, month: str, name: str, amount: int = 1) -> None:
        if self.scope is not None and area not in self.scope:
            return
        rows = [self.report.by_area.setdefault(area, Figures()), self.report.total]
        if month:
            rows.append(self.report.by_month.setdefault(month, Figures()))
        for row in rows:
            setattr(row, name, getattr(row, name) + amount)

    def count_once(self, areas: list[str], month: str, name: str) -> None:
        """Count one thing that concerns several areas: in each area's row, once in the total."""
        seen = [a for a in areas if self.scope is None or a in self.scope]
        if not seen:
            return
        for area in seen:
            row = self.report.by_area.setdefault(area, Figures())
            setattr(row, name, getattr(row, name) + 1)
        rows = [self.report.total]
        if month:
            rows.append(self.report.by_month.setdefault(month, Figures()))
        for row in rows:
            setattr(row, name, getattr(row, name) + 1)


def build_report(services: Services, areas: Collection[str] | None = None) -> Report:
    """Every figure, limited to `areas` when given (a team member's areas)."""
    tally = _Tally(set(areas) if areas is not None else None)
    _users(services, tally)
    _listings(services, tally)
    _orders(services, tally)
    _broadcasts(services, tally)
    if areas is not None:
        for area in areas:
            tally.report.by_area.setdefault(area, Figures())
    return tally.report


def _users(services: Services, tally: _Tally) -> None:
    lessons = getattr(services, "lessons", None)
    trained: dict[int, str] = lessons.trained_users() if lessons is not None else {}
    for user in services.users.all():
        if not user.registered:
            continue
        if user.role == FARMER:
            tally.count(user.area, month_of(user.created_at), "farmers")
        if user.id in trained:
            tally.count(user.area, month_of(trained[user.id]), "trained")


def _listings(services: Services, tally: _Tally) -> None:
    listings = getattr(services, "listings", None)
    if listings is None:
        return
    for listing in listings.all():
        month = month_of(listing.created_at)
        tally.count(listing.area or NO_AREA, month, "listings_new")
        if listing.status == ACTIVE:
            tally.count(listing.area or NO_AREA, month, "listings_active")


def _orders(services: Services, tally: _Tally) -> None:
    orders = getattr(services, "orders", None)
    listings = getattr(services, "listings", None)
    if orders is None:
        return
    area_of_listing = {x.id: x.area for x in listings.all()} if listings is not None else {}
    area_of_farmer: dict[int, str] = {}
    for status in STATUSES:
        if status == CANCELLED:
            continue
        for order in orders.with_status(status):
            area = area_of_listing.get(order.listing_id)
            if area is None:
                area = _farmer_area(services, order.farmer_id, area_of_farmer)
            month = month_of(order.created_at)
            tally.count(area, month, "orders")
            if status in EARNING:
                tally.count(area, month, "revenue", order.total)


def _farmer_area(services: Services, farmer_id: int, cache: dict[int, str]) -> str:
    if farmer_id not in cache:
        farmer = services.users.get(farmer_id) if farmer_id else None
        cache[farmer_id] = farmer.area if farmer else NO_AREA
    return cache[farmer_id]


def _broadcasts(services: Services, tally: _Tally) -> None:
    """Broadcasts that started sending (running, finished, or stopped part way)."""
    broadcasts = getattr(services, "broadcasts", None)
    if broadcasts is None:
        return
    for status in (SENDING, DONE, STOPPED):
        for broadcast in broadcasts.with_status(status):
            if not broadcast.started_at:
                continue  # cancelled before its scheduled time: never sent
            areas = list(broadcast.audience.get("areas") or []) or [NO_AREA]
            tally.count_once(areas, month_of(broadcast.started_at), "broadcasts")
