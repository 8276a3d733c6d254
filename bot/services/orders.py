"""Orders (đơn hàng): the record, its status changes, and the stock they take from listings.

Stock is reserved when the farmer confirms: `Listing.stock` is what is still free after
confirmed orders. Buyers may not order more than that minus what other new (unconfirmed)
orders already ask for, so two buyers cannot both order the last 10 kg. Every check and the
write after it run with no `await` in between: on one event loop with a synchronous, fsync'd
store, no other update can slip in, which is what makes "never oversold" hold.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.i18n import VN_TZ
from bot.services.listings import ACTIVE, SOLD_OUT, Listing, ListingRepo
from bot.services.users import User
from bot.storage.db import Store
from bot.text import KG_PER_UNIT

log = logging.getLogger(__name__)

NEW = "new"
CONFIRMED = "confirmed"
SHIPPING = "shipping"
DELIVERED = "delivered"
CANCELLED = "cancelled"
STATUSES = (NEW, CONFIRMED, SHIPPING, DELIVERED, CANCELLED)
# Orders whose value counts as revenue: the farmer has accepted them.
EARNING = (CONFIRMED, SHIPPING, DELIVERED)

BOT = "bot"  # ordered through the bot; other channels are orders the farmer recorded
OUTSIDE_CHANNELS = ("phone", "zalo", "market", "other")

# Order codes and "this month" follow the farmers' clock: Vietnam has no daylight saving.

# Why a change was refused.
UNAVAILABLE = "unavailable"  # the listing is gone, paused or has nothing left
TOO_MUCH = "too_much"  # more than what is free
WRONG_STATE = "wrong_state"  # the order is no longer in a status that allows it
OWN = "own"  # a farmer ordering from her own listing
BELOW_SOLD = "below_sold"  # a listing's quantity set below what confirmed orders took
OTHER_UNIT = "other_unit"  # a listing's unit changed to one its orders cannot be counted in
OPEN = (NEW, CONFIRMED, SHIPPING)  # orders still under way
WITHDRAWN = "withdrawn"  # cancelled_by: the farmer deleted the listing


class OrderRefused(Exception):
    """A change the order's status or the stock does not allow; `reason` says which."""

    def __init__(self, reason: str, available: Decimal = Decimal(0)) -> None:
        super().__init__(reason)
        self.reason = reason
        self.available = available


@dataclass
class Order:
    """One order of one listing."""

    id: int = 0
    code: str = ""  # what the buyer quotes, e.g. DH2611-0042
    day: str = ""  # local date of creation (YYYY-MM-DD): the code's sequence counts per day
    listing_id: int = 0
    farmer_id: int = 0  # 0 once the farmer deleted her data
    buyer_id: int = 0  # 0 for orders taken outside the bot, or once the buyer deleted data
    product_name: str = ""
    unit: str = "kg"
    quantity: str = "0"  # Decimal as text, in the listing's unit
    price: int = 0  # VND per unit when ordered
    total: int = 0  # VND
    buyer_name: str = ""
    phone: str = ""  # +84...; shown only to the farmer
    address: str = ""  # shown only to the farmer
    note: str = ""
    channel: str = BOT
    status: str = NEW
    reserved: bool = False  # its quantity is taken from the listing's stock
    reason: str = ""  # why it was cancelled, as typed or picked
    cancelled_by: str = ""  # "buyer", "farmer", "expired", "deleted"
    tracking: str = ""
    form_id: str = ""  # the form run that created it: a redelivered confirm creates nothing
    created_at: str = ""
    updated_at: str = ""
    remind_at: str = ""  # when the farmer is reminded of an unconfirmed order
    expire_at: str = ""  # when an unconfirmed order is cancelled
    reminded_at: str = ""
    history: list[list[str]] = field(default_factory=list)  # [[moment, status], ...]
    notice: str = ""  # "buyer"/"farmer": that party is still to be told of a cancellation
    notice_tries: int = 0  # failed attempts at telling them
    token: str = ""  # unguessable: the buyer's order-status page /d/<token>, no account needed

    @property
    def qty(self) -> Decimal:
        """The quantity as a number."""
        return Decimal(self.quantity)

    def to_doc(self) -> dict[str, Any]:
        """The stored document (without the id)."""
        doc = asdict(self)
        doc.pop("id")
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any], doc_id: int) -> Order:
        """Build from a stored document, ignoring unknown fields."""
        known = {f.name for f in fields(cls)}
        order = cls(**{k: v for k, v in doc.items() if k in known})
        order.id = doc_id
        return order


def total_of(quantity: Decimal, price: int) -> int:
    """What a quantity costs, in whole VND."""
    return int((quantity * price).quantize(Decimal(1), ROUND_HALF_UP))


def local(moment: datetime) -> datetime:
    """A moment on the farmers' clock."""
    return moment.astimezone(VN_TZ)


def _stock(listing: Listing) -> Decimal:
    try:
        return Decimal(listing.stock)
    except ArithmeticError:
        log.error("listing %s has unreadable stock %r", listing.id, listing.stock)
        return Decimal(0)


def in_unit(quantity: Decimal, unit: str, target: str) -> Decimal | None:
    """A quantity in another unit (100 kg → 1 tạ), or None if the two do not convert."""
    if unit == target:
        return quantity
    source_kg, target_kg = KG_PER_UNIT.get(unit), KG_PER_UNIT.get(target)
    if source_kg is None or target_kg is None:
        return None
    return quantity * source_kg / target_kg


def stored_amount(value: Decimal) -> str:
    """A Decimal as stored: no exponent, no trailing zeros."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


@dataclass
class MonthTotals:
    """A farmer's orders of one month (cancelled ones left out)."""

    orders: int = 0
    quantity: dict[str, Decimal] = field(default_factory=dict)  # unit -> amount
    revenue: int = 0  # confirmed + shipping + delivered
    delivered: int = 0  # delivered only


class OrderRepo:
    """Stored orders and every change to them, keeping the listings' stock right."""

    def __init__(
        self, store: Store, listings: ListingRepo, reminder_hours: float, expiry_hours: float
    ) -> None:
        self._store = store
        self._table = store.table(
            "orders",
            indexes=(
                *("buyer_id", "farmer_id", "listing_id", "status", "code", "day", "form_id"),
                "notice",
                "token",
            ),
        )
        self.listings = listings  # the one repository (and offer index) of this store
        self._load_held()
        self.reminder = timedelta(hours=reminder_hours)
        self.expiry = timedelta(hours=expiry_hours)
        store.on_change("orders", self._changed_elsewhere)

    def _changed_elsewhere(self, ids: list[int]) -> None:
        """Orders another process saved: what they hold of each listing, here too."""
        docs = self._table.by_ids(ids)
        if len(docs) < len(ids):  # some were removed: which listings they held is unknown
            self._load_held()
            return
        for listing_id in {d.get("listing_id") for d in docs}:
            if isinstance(listing_id, int):
                self._sync_held(listing_id)

    # --- reading ------------------------------------------------------------------------

    def _many(self, field_name: str, value: Any) -> list[Order]:
        docs = self._store.find(self._table, field_name, value)
        return sorted((Order.from_doc(dict(d), d.doc_id) for d in docs), key=lambda o: -o.id)

    def get(self, order_id: int) -> Order | None:
        """The order with this id, if any."""
        doc = self._table.by_id(order_id)
        if doc is None:
            return None
        return Order.from_doc(dict(doc), doc.doc_id)

    def by_code(self, code: str) -> Order | None:
        """The order a buyer quotes by its code."""
        found = self._many("code", code.strip().upper())
        return found[0] if found else None

    def by_token(self, token: str) -> Order | None:
        """The order whose status page has this token."""
        found = self._many("token", token) if token else []
        return found[0] if found else None

    def of_buyer(self, buyer_id: int) -> list[Order]:
        """A buyer's orders, newest first."""
        return self._many("buyer_id", buyer_id) if buyer_id else []

    def of_farmer(self, farmer_id: int, status: str = "") -> list[Order]:
        """A farmer's orders (in one status, if given), newest first."""
        found = self._many("farmer_id", farmer_id) if farmer_id else []
        return [o for o in found if o.status == status] if status else found

    def with_status(self, status: str) -> list[Order]:
        """Every order in a status, newest first."""
        return self._many("status", status)

    def _of_listing(self, listing_id: int, statuses: tuple[str, ...]) -> list[Order]:
        """A listing's orders in some statuses, newest first."""
        found = []
        for status in statuses:
            docs = self._store.find_where(
                self._table, {"listing_id": listing_id, "status": status}
            )
            found += [Order.from_doc(dict(d), d.doc_id) for d in docs]
        return sorted(found, key=lambda o: -o.id)

    def _unit_of(self, listing_id: int) -> str | None:
        listing = self.listings.get(listing_id)
        return listing.unit if listing else None

    def pending(self, listing_id: int) -> Decimal:
        """What new (unconfirmed) orders of a listing ask for, in the listing's unit."""
        unit = self._unit_of(listing_id)
        total = Decimal(0)
        for order in self._of_listing(listing_id, (NEW,)):
            # An order the unit no longer converts for counts as typed: under-selling, not over.
            taken = in_unit(order.qty, order.unit, unit or order.unit)
            total += order.qty if taken is None else taken
        return total

    def committed(self, listing_id: int, unit: str) -> Decimal | None:
        """What confirmed, shipping and delivered orders of a listing took, in `unit`.

        None when one of them is in a unit that does not convert to `unit`.
        """
        total = Decimal(0)
        for order in self._of_listing(listing_id, EARNING):
            taken = in_unit(order.qty, order.unit, unit)
            if taken is None:
                return None
            total += taken
        return total

    def open_orders(self, listing_id: int) -> list[Order]:
        """A listing's orders still under way (new, confirmed, shipping), newest first."""
        return self._of_listing(listing_id, OPEN)

    def stock_for(self, listing_id: int, quantity: Decimal, unit: str) -> Decimal:
        """The stock of a listing whose quantity is set to `quantity` (in `unit`).

        What confirmed orders took stays taken. Raises OrderRefused(BELOW_SOLD, sold) when the
        quantity is less than that, OrderRefused(OTHER_UNIT) when the unit of an order not
        cancelled (new ones included) does not convert.
        """
        sold = self.committed(listing_id, unit)
        waiting = self._of_listing(listing_id, (NEW,))
        if sold is None or any(in_unit(o.qty, o.unit, unit) is None for o in waiting):
            raise OrderRefused(OTHER_UNIT)
        if quantity < sold:
            raise OrderRefused(BELOW_SOLD, sold)
        return quantity - sold

    def _load_held(self) -> None:
        """Tell the offer index what every new order asks for (at start)."""
        held: dict[int, Decimal] = {}
        for listing_id in {o.listing_id for o in self.with_status(NEW)}:
            held[listing_id] = self.pending(listing_id)
        self.listings.offers.load_held(held)

    def _sync_held(self, listing_id: int) -> None:
        """Tell the offer index what new orders of a listing ask for now."""
        self.listings.offers.set_held(listing_id, self.pending(listing_id))

    def available(self, listing: Listing) -> Decimal:
        """What a buyer may still order: stock not reserved, nor asked for by new orders."""
        if listing.status != ACTIVE:
            return Decimal(0)
        return max(_stock(listing) - self.pending(listing.id), Decimal(0))

    # --- writing ------------------------------------------------------------------------

    def _save(self, order: Order, now: datetime, status: str | None = None) -> None:
        if status is not None:
            order.status = status
            order.history.append([now.isoformat(), status])
        order.updated_at = now.isoformat()
        self._table.update(order.to_doc(), doc_ids=[order.id])
        self._sync_held(order.listing_id)

    def _new_code(self, now: datetime) -> tuple[str, str]:
        """(code, day) for an order created now: DDMM and the day's sequence number."""
        day = local(now)
        key = day.date().isoformat()
        seq = len(self._store.find(self._table, "day", key)) + 1
        while True:
            code = f"DH{day:%d%m}-{seq:04d}"
            if not self._store.find(self._table, "code", code):  # e.g. the same day last year
                return code, key
            seq += 1

    def _insert(self, order: Order, now: datetime) -> Order:
        order.code, order.day = self._new_code(now)
        order.created_at = order.updated_at = now.isoformat()
        order.history = [[now.isoformat(), order.status]]
        order.id = self._table.insert(order.to_doc())
        self._sync_held(order.listing_id)
        return order

    def by_form(self, form_id: str) -> Order | None:
        """The order a form run created, if it already did."""
        found = self._many("form_id", form_id) if form_id else []
        return found[0] if found else None

    def place(
        self,
        listing_id: int,
        buyer: User,
        quantity: Decimal,
        *,
        name: str,
        phone: str,
        address: str,
        note: str,
        form_id: str,
        now: datetime,
    ) -> Order:
        """Record a buyer's new order, if that much is still free; raises OrderRefused."""
        done = self.by_form(form_id)
        if done is not None:
            return done
        listing = self.listings.get(listing_id)
        if listing is None or listing.status != ACTIVE:
            raise OrderRefused(UNAVAILABLE)
        if listing.farmer_id == buyer.id:
            raise OrderRefused(OWN)
        free = self.available(listing)
        if free <= 0:
            raise OrderRefused(UNAVAILABLE)
        if quantity > free:
            raise OrderRefused(TOO_MUCH, free)
        order = _order_for(
            listing,
            quantity,
            buyer_id=buyer.id,
            buyer_name=name,
            phone=phone,
            address=address,
            note=note,
            form_id=form_id,
            remind_at=(now + self.reminder).isoformat(),
            expire_at=(now + self.expiry).isoformat(),
            token=secrets.token_urlsafe(16),
        )
        return self._insert(order, now)

    def record_outside(
        self,
        listing: Listing,
        quantity: Decimal,
        *,
        name: str,
        phone: str,
        channel: str,
        form_id: str,
        now: datetime,
    ) -> Order:
        """Record an order the farmer took elsewhere; it is confirmed and reserves stock."""
        done = self.by_form(form_id)
        if done is not None:
            return done
        fresh = self.listings.get(listing.id)
        if fresh is None:
            raise OrderRefused(UNAVAILABLE)
        stock = _stock(fresh)
        if quantity > stock:
            raise OrderRefused(TOO_MUCH, max(stock, Decimal(0)))
        self._take(fresh, quantity, now)
        order = _order_for(
            fresh,
            quantity,
            buyer_name=name,
            phone=phone,
            channel=channel,
            status=CONFIRMED,
            reserved=True,
            form_id=form_id,
        )
        return self._insert(order, now)

    def _take(self, listing: Listing, quantity: Decimal, now: datetime) -> None:
        """Reserve from the stock; a listing with nothing left becomes sold out."""
        left = _stock(listing) - quantity
        listing.stock = stored_amount(max(left, Decimal(0)))
        if left <= 0:
            listing.status = SOLD_OUT
        listing.updated_at = now.isoformat()
        self.listings.save(listing)

    def _give_back(self, order: Order, now: datetime) -> None:
        """Return a reserved quantity to the listing's stock."""
        listing = self.listings.get(order.listing_id)
        if listing is None:
            return
        back = in_unit(order.qty, order.unit, listing.unit)
        if back is None:  # the farmer may not change to such a unit: see stock_for
            log.error(
                "order %s (%s) cannot go back to listing %s", order.id, order.unit, listing.id
            )
            return
        listing.stock = stored_amount(_stock(listing) + back)
        if listing.status == SOLD_OUT:
            listing.status = ACTIVE
        listing.updated_at = now.isoformat()
        self.listings.save(listing)

    def confirm(self, order_id: int, now: datetime) -> Order:
        """The farmer accepts a new order: its quantity is reserved from the stock."""
        order = self.get(order_id)
        if order is None or order.status != NEW:
            raise OrderRefused(WRONG_STATE)
        listing = self.listings.get(order.listing_id)
        if listing is None:
            raise OrderRefused(UNAVAILABLE)
        wanted = in_unit(order.qty, order.unit, listing.unit)
        if wanted is None:
            raise OrderRefused(UNAVAILABLE)
        stock = _stock(listing)
        if wanted > stock:
            left = in_unit(max(stock, Decimal(0)), listing.unit, order.unit)
            raise OrderRefused(TOO_MUCH, left if left is not None else Decimal(0))
        # Stock first, then the order: a crash in between leaves stock taken for an order still
        # "new" — the farmer may sell a little less, never more than she has.
        self._take(listing, wanted, now)
        order.reserved = True
        self._save(order, now, CONFIRMED)
        return order

    def cancel(self, order_id: int, by: str, reason: str, now: datetime) -> Order:
        """Cancel (buyer: while new; farmer: until shipped); reserved stock goes back."""
        order = self.get(order_id)
        allowed = (NEW,) if by in ("buyer", "expired", "deleted") else (NEW, CONFIRMED)
        if order is None or order.status not in allowed:
            raise OrderRefused(WRONG_STATE)
        was_reserved = order.reserved
        order.reserved, order.reason, order.cancelled_by = False, reason, by
        # The order first, then the stock: a crash in between keeps the quantity reserved —
        # under-selling, never overselling.
        self._save(order, now, CANCELLED)
        if was_reserved:
            self._give_back(order, now)
        return order

    def ship(self, order_id: int, tracking: str, now: datetime) -> Order:
        """A confirmed order is on its way."""
        order = self.get(order_id)
        if order is None or order.status != CONFIRMED:
            raise OrderRefused(WRONG_STATE)
        order.tracking = tracking
        self._save(order, now, SHIPPING)
        return order

    def deliver(self, order_id: int, now: datetime) -> Order:
        """The buyer has the goods."""
        order = self.get(order_id)
        if order is None or order.status not in (CONFIRMED, SHIPPING):
            raise OrderRefused(WRONG_STATE)
        self._save(order, now, DELIVERED)
        return order

    def remind(self, order_id: int, now: datetime) -> Order | None:
        """Note (durably) that the farmer is reminded of a new order; None if no longer due."""
        order = self.get(order_id)
        if order is None or order.status != NEW or order.reminded_at:
            return None
        order.reminded_at = now.isoformat()
        self._save(order, now)
        return order

    def cancel_for_listing(self, listing_id: int, now: datetime) -> list[Order]:
        """Cancel a listing's new and confirmed orders (the farmer is deleting it).

        Each is marked for its buyer to be told (`notice`), durably, before anyone is told.
        """
        done = []
        for order in self._of_listing(listing_id, (NEW, CONFIRMED)):
            cancelled = self.cancel(order.id, WITHDRAWN, "", now)
            cancelled.notice = "buyer"
            self._save(cancelled, now)
            done.append(cancelled)
        return done

    def notices(self) -> list[Order]:
        """Orders whose cancellation a party is still to be told of, oldest first."""
        found = self._many("notice", "buyer") + self._many("notice", "farmer")
        return sorted(found, key=lambda o: o.id)

    def told(self, order_id: int, now: datetime) -> None:
        """Note that an order's pending notice went out (or can never go)."""
        order = self.get(order_id)
        if order is not None and order.notice:
            order.notice = ""
            self._save(order, now)

    def notice_failed(self, order_id: int, now: datetime) -> int:
        """Count a failed attempt at an order's notice; return how many failed so far."""
        order = self.get(order_id)
        if order is None or not order.notice:
            return 0
        order.notice_tries += 1
        self._save(order, now)
        return order.notice_tries

    # --- figures and erasure ------------------------------------------------------------

    def month_totals(self, farmer_id: int, now: datetime) -> MonthTotals:
        """A farmer's orders created this (local) month, cancelled ones left out."""
        month = local(now).strftime("%Y-%m")
        totals = MonthTotals()
        for order in self.of_farmer(farmer_id):
            if not order.day.startswith(month) or order.status == CANCELLED:
                continue
            totals.orders += 1
            totals.quantity[order.unit] = totals.quantity.get(order.unit, Decimal(0)) + order.qty
            if order.status in EARNING:
                totals.revenue += order.total
            if order.status == DELIVERED:
                totals.delivered += order.total
        return totals

    def erase_user(self, user: User, now: datetime) -> None:
        """Blank a deleting user's personal fields; their new orders are cancelled.

        The other party keeps the order's history (product, quantity, money, status), but no
        longer the deleted person's name, phone, address or note. They are told of each
        cancelled order later, by the order clock (`notice`): this hook cannot await.
        """
        for order in self.of_buyer(user.id):
            if order.status == NEW:
                self.cancel(order.id, "deleted", "", now)
                order = self.get(order.id) or order
                order.notice = "farmer" if order.farmer_id else ""
            elif order.notice == "buyer":
                order.notice = ""
            order.buyer_id = 0
            order.buyer_name = order.phone = order.address = order.note = ""
            self._save(order, now)
        for order in self.of_farmer(user.id):
            if order.status == NEW:
                self.cancel(order.id, "deleted", "", now)
                order = self.get(order.id) or order
                order.notice = "buyer" if order.buyer_id else ""
            elif order.notice == "farmer":
                order.notice = ""
            order.farmer_id = 0
            if order.channel != BOT:  # her own notes about buyers met elsewhere
                order.buyer_name = order.phone = ""
            self._save(order, now)


def _order_for(listing: Listing, quantity: Decimal, **fields: Any) -> Order:
    """An order of `quantity` from `listing` at its price; `fields` say who and how."""
    return Order(
        listing_id=listing.id,
        farmer_id=listing.farmer_id,
        product_name=listing.product_name,
        unit=listing.unit,
        quantity=stored_amount(quantity),
        price=listing.price,
        total=total_of(quantity, listing.price),
        **fields,
    )
