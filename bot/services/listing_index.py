"""What is on sale, in memory: the active listings buyers may still order, grouped for search.

One index per listings table, shared by every `ListingRepo` on it (the orders feature holds its
own repo on the same table), so a write through any of them keeps search right. It holds only
small facts per listing (folded name, product, area, certifications, stock, what new orders
ask for); a search intersects id sets in C and loads just the page's listings from the store.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Collection, Hashable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from bot.text import fold

log = logging.getLogger(__name__)

ACTIVE = "active"  # the status of listings on sale (bot.services.listings.ACTIVE)
OTHER_PRODUCT = "_other"  # browse key of listings typed freely (no catalog product)
CERT_KEYS = ("ocop", "vietgap", "globalgap", "organic")
FIELDS = ("name", "product", "area", "cert")
MEMO_SIZE = 64  # recent results kept until the next change
# Most listings share a few thousand names: folding each once makes building at start cheap.
_fold = functools.lru_cache(maxsize=1 << 16)(fold)


class Entry(NamedTuple):
    """The facts search needs about one active listing (a tuple: cheap to build 100k of)."""

    name: str  # folded product name
    product: str  # product id, or OTHER_PRODUCT
    area: str
    certs: frozenset[str]
    stock: Decimal  # free after confirmed orders

    def group_keys(self) -> tuple[Collection[str], ...]:
        """The group keys of this listing, one tuple per field of FIELDS."""
        return ((self.name,) if self.name else (), (self.product,), (self.area,), self.certs)


@functools.lru_cache(maxsize=64)
def _certs(ocop: bool, vietgap: bool, globalgap: bool, organic: bool) -> frozenset[str]:
    """One shared set per combination of certifications."""
    flags = (ocop, vietgap, globalgap, organic)
    return frozenset(k for k, on in zip(CERT_KEYS, flags, strict=True) if on)


def _decimal(text: Any, listing_id: int) -> Decimal:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        log.error("listing %s has unreadable stock %r", listing_id, text)
        return Decimal(0)


def entry_of(doc: Mapping[str, Any], listing_id: int) -> Entry | None:
    """The index entry of a stored listing document, or None when it is not on sale."""
    if doc.get("status") != ACTIVE:
        return None
    c = doc.get("certs") or {}
    return Entry(
        _fold(str(doc.get("product_name", ""))),
        str(doc.get("product_id") or OTHER_PRODUCT),
        str(doc.get("area", "")),
        _certs(
            bool(c.get("ocop")),
            bool(c.get("vietgap")),
            bool(c.get("globalgap")),
            bool(c.get("organic")),
        ),
        _decimal(doc.get("stock", "0"), listing_id),
    )


class OfferIndex:
    """Active listings with something left to order, by name, product, area, certification."""

    def __init__(self) -> None:
        self._entries: dict[int, Entry] = {}  # every active listing
        self._held: dict[int, Decimal] = {}  # what new (unconfirmed) orders ask for
        self._grouped: dict[int, Entry] = {}  # offered listings, as filed in the groups
        self._groups: dict[str, dict[str, set[int]]] = {f: {} for f in FIELDS}
        self._names: list[str] | None = None
        self._memo: dict[Hashable, Any] = {}
        self.version = 0  # bumped on every change: caches of rendered pages compare it

    # --- keeping it right -----------------------------------------------------------------

    def put(self, listing_id: int, doc: Mapping[str, Any] | None) -> None:
        """Record a listing's stored state (None: it is gone)."""
        entry = entry_of(doc, listing_id) if doc is not None else None
        if entry is None:
            self._entries.pop(listing_id, None)
        else:
            self._entries[listing_id] = entry
        self._refresh(listing_id)

    def set_held(self, listing_id: int, quantity: Decimal) -> None:
        """What new orders of a listing ask for now."""
        if quantity > 0:
            self._held[listing_id] = quantity
        else:
            self._held.pop(listing_id, None)
        self._refresh(listing_id)

    def load(self, docs: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        """Add many listings at once (building at start)."""
        # No cyclic GC while allocating 100k small objects: none of them makes a cycle.
        enabled = gc.isenabled()
        gc.disable()
        try:
            for listing_id, doc in docs:
                entry = entry_of(doc, listing_id)
                if entry is not None:
                    self._entries[listing_id] = entry
                    self._refresh(listing_id)
        finally:
            if enabled:
                gc.enable()

    def load_held(self, held: Mapping[int, Decimal]) -> None:
        """Replace every hold (building at start, from the new orders)."""
        changed = set(self._held) | set(held)
        self._held = {k: v for k, v in held.items() if v > 0}
        for listing_id in changed:
            self._refresh(listing_id)

    def _refresh(self, listing_id: int) -> None:
        """File a listing in the groups if buyers may order it, out of them if not."""
        self._memo.clear()
        self.version += 1
        old = self._grouped.pop(listing_id, None)
        if old is not None:
            for field, keys in zip(FIELDS, old.group_keys(), strict=True):
                group = self._groups[field]
                for key in keys:
                    ids = group[key]
                    ids.discard(listing_id)
                    if not ids:
                        del group[key]
                        if field == "name":
                            self._names = None
        entry = self._entries.get(listing_id)
        if entry is None or entry.stock - self._held.get(listing_id, Decimal(0)) <= 0:
            return
        self._grouped[listing_id] = entry
        for field, keys in zip(FIELDS, entry.group_keys(), strict=True):
            group = self._groups[field]
            for key in keys:
                if key in group:
                    group[key].add(listing_id)
                else:
                    group[key] = {listing_id}
                    if field == "name":
                        self._names = None

    # --- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._grouped)

    def __contains__(self, listing_id: object) -> bool:
        return listing_id in self._grouped

    def free(self, listing_id: int) -> Decimal:
        """What a buyer may still order of a listing (0 when it is not on sale)."""
        entry = self._entries.get(listing_id)
        if entry is None:
            return Decimal(0)
        return max(entry.stock - self._held.get(listing_id, Decimal(0)), Decimal(0))

    def offered(self) -> set[int]:
        """Ids of every listing buyers may order (do not modify)."""
        return set(self._grouped)

    def ids(self, field: str, key: str) -> set[int]:
        """Offered ids under one group key (do not modify)."""
        return self._groups[field].get(key, set())

    def counts(self, field: str) -> dict[str, int]:
        """How many offered listings each key of a field has."""
        return {key: len(ids) for key, ids in self._groups[field].items()}

    def names(self) -> list[str]:
        """The distinct folded product names on sale (a stable list until a name changes)."""
        if self._names is None:
            self._names = list(self._groups["name"])
        return self._names

    def memo(self, key: Hashable) -> Any:
        """A result remembered since the last change, or None."""
        return self._memo.get(key)

    def remember(self, key: Hashable, value: Any) -> None:
        """Keep a result until the next change (a few recent ones only)."""
        if len(self._memo) >= MEMO_SIZE:
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = value
