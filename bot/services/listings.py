"""Product listings (tin đăng bán): the record, its stock, and where to find them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from bot.storage.db import Store

ACTIVE = "active"
PAUSED = "paused"
SOLD_OUT = "soldout"
STATUSES = (ACTIVE, PAUSED, SOLD_OUT)


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


class ListingRepo:
    """Stored listings, found by farmer, product and status through indexes."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table(
            "listings", indexes=("farmer_id", "product_id", "status", "area", "form_id")
        )

    def get(self, listing_id: int) -> Listing | None:
        """The listing with this id, if any."""
        doc = self._table.get(doc_id=listing_id)
        if doc is None or isinstance(doc, list):
            return None
        return Listing.from_doc(dict(doc), doc.doc_id)

    def by_form(self, form_id: str) -> Listing | None:
        """The listing a form run created, if it already did."""
        docs = self._store.find(self._table, "form_id", form_id) if form_id else []
        return Listing.from_doc(dict(docs[0]), docs[0].doc_id) if docs else None

    def of_farmer(self, farmer_id: int) -> list[Listing]:
        """A farmer's listings, newest first."""
        docs = self._store.find(self._table, "farmer_id", farmer_id)
        return sorted((Listing.from_doc(dict(d), d.doc_id) for d in docs), key=lambda x: -x.id)

    def with_status(self, status: str) -> list[Listing]:
        """All listings in a status (e.g. every active one, for search)."""
        docs = self._store.find(self._table, "status", status)
        return [Listing.from_doc(dict(d), d.doc_id) for d in docs]

    def add(self, listing: Listing) -> Listing:
        """Store a new listing (durably) and give it its id."""
        listing.id = self._table.insert(listing.to_doc())
        return listing

    def save(self, listing: Listing) -> None:
        """Write a listing back (durably)."""
        self._table.update(listing.to_doc(), doc_ids=[listing.id])

    def delete(self, listing_id: int) -> None:
        """Remove a listing for good."""
        self._table.remove(doc_ids=[listing_id])
