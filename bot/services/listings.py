"""Product listings (tin đăng bán): the record, its stock, and where to find them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from bot.core.media import MediaStore, thumb_name
from bot.services import listing_index
from bot.services.listing_index import OfferIndex
from bot.slugs import new_slug
from bot.storage.db import Store
from bot.storage.table import LogTable

if TYPE_CHECKING:
    from bot.services.users import User

log = logging.getLogger(__name__)

ACTIVE = listing_index.ACTIVE  # "active"
PAUSED = "paused"
SOLD_OUT = "soldout"
STATUSES = (ACTIVE, PAUSED, SOLD_OUT)

# Limits that keep listings readable and the store sane; each has its own message in the form.
MAX_ACTIVE_PER_FARMER = 50
PRICE_MIN = 100  # VND per unit: below this it is surely a typo ("45" meant 45.000)
PRICE_MAX = 1_000_000_000  # VND per unit
PHOTOS_MAX = 5
PRODUCT_NAME_MAX = 80
GRADE_MAX = 60
AVAILABILITY_MAX = 100
CERT_NUMBER_MAX = 60
DESCRIPTION_MAX = 500
AVAILABLE_NOW = "now"  # stored availability meaning "đang có", shown in the reader's language


@dataclass
class Certs:
    """Certifications a listing carries."""

    ocop: int = 0  # 0, or 3–5 stars
    vietgap: bool = False
    globalgap: bool = False
    organic: bool = False
    number: str = ""  # certificate number, as typed

    def any(self) -> bool:
        """Whether any certification is set."""
        return bool(self.ocop or self.vietgap or self.globalgap or self.organic)


@dataclass
class Listing:
    """One product a farmer offers."""

    id: int = 0
    farmer_id: int = 0
    area: str = ""  # the farmer's area id at the time of listing
    product_id: str = ""  # id from content/products.yaml, or "" when typed freely
    product_name: str = ""  # as shown to buyers, exactly as typed/picked
    grade: str = ""
    unit: str = "kg"  # canonical unit (bot.text.UNITS)
    quantity: str = "0"  # Decimal as text: what the farmer put on sale
    stock: str = "0"  # Decimal as text: still available (confirmed orders reserve from it)
    price: int = 0  # VND per unit
    availability: str = ""
    photos: list[str] = field(default_factory=list)
    certs: Certs = field(default_factory=Certs)
    description: str = ""
    status: str = ACTIVE
    show_phone: bool = False
    form_id: str = ""  # the form run that created it: a redelivered confirm creates nothing
    slug: str = ""  # random public code: /p/<slug>, start payload p_<slug>, "MUA <slug>"
    legacy_id: bool = False  # listed before slugs: its printed /p/<id> QR still redirects
    created_at: str = ""
    updated_at: str = ""

    def to_doc(self) -> dict[str, Any]:
        """The stored document (without the id)."""
        doc = asdict(self)
        doc.pop("id")
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any], doc_id: int) -> Listing:
        """Build from a stored document, ignoring unknown fields."""
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in doc.items() if k in known}
        data["certs"] = Certs(**(doc.get("certs") or {}))
        listing = cls(**data)
        listing.id = doc_id
        return listing


LOAD_CHUNK = 5000  # documents copied at a time while building the offer index


def _offer_index(store: Store, table: LogTable) -> OfferIndex:
    """An offer index over the stored active listings."""
    index = OfferIndex()
    ids = store.find_ids(table, {"status": ACTIVE})
    for start in range(0, len(ids), LOAD_CHUNK):
        index.load((d.doc_id, d) for d in table.by_ids(ids[start : start + LOAD_CHUNK]))
    return index


class ListingRepo:
    """Stored listings, found by farmer, product and status through indexes.

    Every write also updates the offer index (`self.offers`) that buyers' searches read, so
    one repository per store serves the process: whoever else writes listings (the orders)
    is handed this one.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table(
            "listings", indexes=("farmer_id", "product_id", "status", "area", "form_id", "slug")
        )
        self.offers = _offer_index(store, self._table)
        store.on_change("listings", self._changed_elsewhere)

    def _changed_elsewhere(self, ids: list[int]) -> None:
        """Listings another process saved: buyers' searches here see them too."""
        for listing_id in ids:
            self.offers.put(listing_id, self._table.by_id(listing_id))

    def get(self, listing_id: int) -> Listing | None:
        """The listing with this id, if any."""
        doc = self._table.by_id(listing_id)
        if doc is None:
            return None
        return Listing.from_doc(dict(doc), doc.doc_id)

    def by_slug(self, slug: str) -> Listing | None:
        """The listing with this public slug, if any."""
        docs = self._store.find(self._table, "slug", slug) if slug else []
        return Listing.from_doc(dict(docs[0]), docs[0].doc_id) if docs else None

    def by_form(self, form_id: str) -> Listing | None:
        """The listing a form run created, if it already did."""
        docs = self._store.find(self._table, "form_id", form_id) if form_id else []
        return Listing.from_doc(dict(docs[0]), docs[0].doc_id) if docs else None

    def of_farmer(self, farmer_id: int) -> list[Listing]:
        """A farmer's listings, newest first."""
        docs = self._store.find(self._table, "farmer_id", farmer_id)
        return sorted((Listing.from_doc(dict(d), d.doc_id) for d in docs), key=lambda x: -x.id)

    def on_sale(self, ids: Iterable[int]) -> list[Listing]:
        """The listings of these ids (in this order) that buyers may order now.

        A listing the offer index wrongly holds (written around this repo) is corrected here.
        """
        wanted = list(ids)
        docs = {d.doc_id: d for d in self._table.by_ids(wanted)}
        found = []
        for listing_id in wanted:
            doc = docs.get(listing_id)
            if doc is None or doc.get("status") != ACTIVE:
                log.warning("offer index was stale for listing %s; corrected", listing_id)
                self.offers.put(listing_id, doc)
                continue
            found.append(Listing.from_doc(dict(doc), listing_id))
        return found

    def add(self, listing: Listing) -> Listing:
        """Store a new listing (durably) and give it its id and public slug."""
        if not listing.slug:
            listing.slug = new_slug(lambda s: bool(self._store.find(self._table, "slug", s)))
        doc = listing.to_doc()
        listing.id = self._table.insert(doc)
        self.offers.put(listing.id, doc)
        return listing

    def save(self, listing: Listing) -> None:
        """Write a listing back (durably)."""
        doc = listing.to_doc()
        written = self._table.update(doc, doc_ids=[listing.id])
        self.offers.put(listing.id, doc if written else None)

    def add_once(self, listing: Listing) -> tuple[Listing, bool]:
        """Store a listing unless its form run already stored one; say whether it is new."""
        existing = self.by_form(listing.form_id)
        if existing is not None:
            return existing, False
        return self.add(listing), True

    def count_active(self, farmer_id: int) -> int:
        """How many of a farmer's listings are on sale now."""
        docs = self._store.find(self._table, "farmer_id", farmer_id)
        return sum(1 for d in docs if d.get("status") == ACTIVE)

    def all(self) -> list[Listing]:
        """Every listing, oldest first (exports and reports; not for hot paths)."""
        return sorted(
            (Listing.from_doc(dict(d), d.doc_id) for d in self._table.all()), key=lambda x: x.id
        )

    def delete(self, listing_id: int) -> None:
        """Remove a listing for good."""
        self._table.remove(doc_ids=[listing_id])
        self.offers.put(listing_id, None)

    def delete_of_farmer(self, farmer_id: int) -> list[Listing]:
        """Remove every listing of a farmer (when she deletes her data); return them."""
        gone = self.of_farmer(farmer_id)
        if gone:
            self._table.remove(doc_ids=[x.id for x in gone])
        for listing in gone:
            self.offers.put(listing.id, None)
        return gone


def farmer_eraser(repo: ListingRepo, media: MediaStore) -> Callable[[User], None]:
    """A deletion hook: a user's listings, their photos (uploaded or cached) and QR images go."""

    def erase(user: User) -> None:
        for listing in repo.delete_of_farmer(user.id):
            thumbs = [f"media:{thumb_name(p)}" for p in listing.photos]
            media.forget([*listing.photos, *thumbs, f"media:qr-{listing.id}.png"])
        log.info("erased the listings of user %s", user.id)

    return erase
