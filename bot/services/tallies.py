"""The province's figures kept as sums per (area, month), updated from the documents that change.

Each user, listing and order counts into one or two cells; what it counted is remembered, so a
new version (or a removal) takes exactly that back out. A report then adds up cells — a few
thousand, however many people there are — instead of reading every document.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.i18n import VN_TZ
from bot.services.broadcast import CANCELLED as STOPPED
from bot.services.broadcast import DONE, SENDING
from bot.services.listings import ACTIVE
from bot.services.orders import CANCELLED, EARNING, NEW, STATUSES
from bot.services.users import FARMER
from bot.storage.db import Store
from bot.storage.follow import Doc, Follower, Shared
from bot.storage.table import LogTable

NO_AREA = ""  # orders and listings whose area is unknown (e.g. a deleted farmer)
MONTHS_KEPT = 100_000  # months of stamps' hours remembered (five years are 44k hours)
_MONTHS: dict[str, str] = {}
# Cell columns, in the order of stats.Figures' fields; then how many entries the cell holds.
FIELDS = ("farmers", "trained", "listings_new", "listings_active", "orders", "revenue")
FARMERS, TRAINED, LISTINGS_NEW, LISTINGS_ACTIVE, ORDERS, REVENUE = range(len(FIELDS))
ENTRIES = len(FIELDS)
# The tables in the order they are taken: users need learners, orders need users and listings.
TABLES = ("lesson_progress", "users", "listings", "orders", "broadcasts")
LEARNER_DOCS, USER_DOCS, LISTING_DOCS, ORDER_DOCS, BROADCAST_DOCS = range(len(TABLES))
COUNTED = frozenset(STATUSES) - {CANCELLED}  # orders that count (cancelled ones do not)
SENT = (SENDING, DONE, STOPPED)  # broadcasts that started sending

Cell = list[int]
Entry = tuple[str, str, int, int]  # area, month, column, amount
Person = tuple[str, str, bool, bool]  # area, month created, registered, farmer
Counted = tuple[str, str, bool, int]  # an order's area, month, earning, total


def month_of(stamp: str) -> str:
    """An ISO time stamp as its month in Vietnam ("2026-11"), or "" if there is none."""
    key = _hour_key(stamp)
    month = _MONTHS.get(key) if key else None
    if month is None:
        month = _month_of(stamp)
        if key and month:
            if len(_MONTHS) >= MONTHS_KEPT:
                _MONTHS.clear()
            _MONTHS[key] = month
    return month


def _hour_key(stamp: str) -> str:
    """The stamp's date, hour and whole-hour zone ("" if it has another shape): shifting by whole
    hours, the minutes and seconds cannot change the month."""
    if len(stamp) == 19:  # 2026-11-30T17:30:00, stored as UTC
        return stamp[:13]
    if len(stamp) >= 25 and stamp[-6] in "+-" and stamp.endswith(":00"):
        return stamp[:13] + stamp[-6:]
    return ""


def _month_of(stamp: str) -> str:
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(VN_TZ):%Y-%m}"


def _text(value: Any) -> str:
    """A short, much repeated string (an area, a month) as one shared object."""
    return sys.intern(value) if isinstance(value, str) else ""


def _order_entries(counted: Counted) -> tuple[Entry, ...]:
    area, month, earning, total = counted
    if earning:
        return ((area, month, ORDERS, 1), (area, month, REVENUE, total))
    return ((area, month, ORDERS, 1),)


class Tally:
    """Sums per (area, month), what each document counted into them, and broadcasts."""

    def __init__(self, orders: LogTable) -> None:
        self._orders_table = orders  # to find the orders that move with a listing or farmer
        self.cells: dict[tuple[str, str], Cell] = {}
        self.broadcasts: dict[int, tuple[tuple[str, ...], str]] = {}  # areas, month sent
        self._once = Shared()
        self._trained: dict[int, str] = {}  # user id -> the month they became trained
        self._learner_of: dict[int, int] = {}  # lesson_progress id -> its user's id
        self._people: dict[int, Person] = {}
        self._listings: dict[int, tuple[Entry, ...]] = {}
        self._listing_area: dict[int, str] = {}
        self._orders: dict[int, Counted] = {}
        self._by_farmer: dict[int, set[int]] = {}  # orders counted in their farmer's area
        self._farmer_of: dict[int, int] = {}  # the same orders -> their farmer
        self._moved_listings: set[int] = set()  # area changed, appeared or gone
        self._moved_farmers: set[int] = set()
        self._stale: set[int] = set()  # orders to count again: their area may have moved

    def _add(self, entries: Iterable[Entry], sign: int) -> None:
        cells = self.cells
        for area, month, column, amount in entries:
            cell = cells.get((area, month))
            if cell is None:
                cell = cells[(area, month)] = [0] * (ENTRIES + 1)
            cell[column] += sign * amount
            cell[ENTRIES] += sign
            if not cell[ENTRIES]:
                del cells[(area, month)]

    # --- the View protocol ---------------------------------------------------------------

    def take(self, table: int, doc_id: int, doc: Doc | None) -> None:
        """Count one document as it is now (None: removed) instead of as it was."""
        if table == LEARNER_DOCS:
            self._learner(doc_id, doc)
        elif table == USER_DOCS:
            self._person(doc_id, doc)
        elif table == LISTING_DOCS:
            self._listing(doc_id, doc)
        elif table == ORDER_DOCS:
            self._stale.discard(doc_id)
            self._order(doc_id, doc)
        else:
            self._broadcast(doc_id, doc)

    def settle(self, table: int) -> None:
        """Count again the orders whose listing or farmer moved to another area (or left)."""
        if table == USER_DOCS:
            for farmer_id in self._moved_farmers:
                self._stale.update(self._by_farmer.get(farmer_id, ()))
            self._moved_farmers.clear()
        elif table == LISTING_DOCS:
            if self._orders:  # a first reading counts every order after this anyway
                for listing_id in self._moved_listings:
                    ids = self._orders_table.find_ids({"listing_id": listing_id})
                    self._stale.update(i for i in ids if i in self._orders)
            self._moved_listings.clear()
        elif table == ORDER_DOCS and self._stale:
            stale = sorted(self._stale)
            self._stale.clear()
            docs = {doc.doc_id: doc for doc in self._orders_table.by_ids(stale)}
            for order_id in stale:
                self._order(order_id, docs.get(order_id))

    # --- each kind of document -----------------------------------------------------------

    def _person_entries(self, user_id: int) -> list[Entry]:
        person = self._people.get(user_id)
        if person is None or not person[2]:
            return []  # not registered (yet)
        area, month, _registered, farmer = person
        entries = [(area, month, FARMERS, 1)] if farmer else []
        trained = self._trained.get(user_id)
        if trained is not None:
            entries.append((area, trained, TRAINED, 1))
        return entries

    def _set_trained(self, user_id: int, month: str | None) -> None:
        if self._trained.get(user_id) == month:
            return
        self._add(self._person_entries(user_id), -1)
        if month is None:
            del self._trained[user_id]
        else:
            self._trained[user_id] = month
        self._add(self._person_entries(user_id), 1)

    def _learner(self, doc_id: int, doc: Doc | None) -> None:
        before = self._learner_of.pop(doc_id, None)
        user_id = int(doc.get("user_id", 0)) if doc is not None else None
        if before is not None and before != user_id:
            self._set_trained(before, None)
        if doc is None or user_id is None:
            return
        self._learner_of[doc_id] = user_id
        trained = doc.get("trained") is True
        month = _text(month_of(str(doc.get("trained_at", "")))) if trained else None
        self._set_trained(user_id, month)

    def _person(self, doc_id: int, doc: Doc | None) -> None:
        before = self._people.get(doc_id)
        self._add(self._person_entries(doc_id), -1)
        if doc is None:
            self._people.pop(doc_id, None)
        else:
            self._people[doc_id] = self._once(
                (
                    _text(doc.get("area", "")),
                    _text(month_of(str(doc.get("created_at", "")))),
                    bool(doc.get("registered", False)),
                    doc.get("role") == FARMER,
                )
            )
            self._add(self._person_entries(doc_id), 1)
        after = self._people.get(doc_id)
        moved = (before[0] if before else None) != (after[0] if after else None)
        if moved and doc_id in self._by_farmer:
            self._moved_farmers.add(doc_id)

    def _listing(self, doc_id: int, doc: Doc | None) -> None:
        self._add(self._listings.pop(doc_id, ()), -1)
        before = self._listing_area.pop(doc_id, None)
        if doc is not None:
            area = _text(doc.get("area") or NO_AREA)
            month = _text(month_of(str(doc.get("created_at", ""))))
            entries: tuple[Entry, ...] = ((area, month, LISTINGS_NEW, 1),)
            if doc.get("status", ACTIVE) == ACTIVE:
                entries += ((area, month, LISTINGS_ACTIVE, 1),)
            self._listings[doc_id] = self._once(entries)
            self._add(entries, 1)
            self._listing_area[doc_id] = area
        if before != self._listing_area.get(doc_id):
            self._moved_listings.add(doc_id)

    def _order(self, doc_id: int, doc: Doc | None) -> None:
        self._forget_order(doc_id)
        status = doc.get("status", NEW) if doc is not None else None
        if doc is None or status not in COUNTED:
            return
        listing_id, farmer_id = int(doc.get("listing_id", 0)), int(doc.get("farmer_id", 0))
        area = self._listing_area.get(listing_id)
        if area is None:  # the listing is gone: the order counts where its farmer is
            self._farmer_of[doc_id] = farmer_id
            self._by_farmer.setdefault(farmer_id, set()).add(doc_id)
            person = self._people.get(farmer_id) if farmer_id else None
            area = person[0] if person else NO_AREA
        month = _text(month_of(str(doc.get("created_at", ""))))
        counted = (area, month, status in EARNING, int(doc.get("total", 0)))
        self._orders[doc_id] = counted
        self._add(_order_entries(counted), 1)

    def _forget_order(self, doc_id: int) -> None:
        counted = self._orders.pop(doc_id, None)
        if counted is not None:
            self._add(_order_entries(counted), -1)
        farmer_id = self._farmer_of.pop(doc_id, None)
        if farmer_id is not None:
            orders = self._by_farmer[farmer_id]
            orders.discard(doc_id)
            if not orders:
                del self._by_farmer[farmer_id]

    def _broadcast(self, doc_id: int, doc: Doc | None) -> None:
        self.broadcasts.pop(doc_id, None)
        if doc is None or doc.get("status") not in SENT or not doc.get("started_at"):
            return  # not sent, or cancelled before its scheduled time
        areas = tuple((doc.get("audience") or {}).get("areas") or ()) or (NO_AREA,)
        self.broadcasts[doc_id] = (areas, month_of(str(doc["started_at"])))


class Tallies:
    """The province's figures of one store, brought up to date on each look."""

    def __init__(self, store: Store) -> None:
        tables = [store.table(name) for name in TABLES]
        self.follower = Follower(tables, lambda: Tally(tables[ORDER_DOCS]))

    def current(self) -> Tally:
        """The sums, with every change made so far."""
        return self.follower.view()
