"""The offer index behind search: always what the store says is on sale, and the same results
as scoring every listing one by one (the way search worked before the index)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from bot.services.catalog import Directory
from bot.services.container import CONTENT_DIR
from bot.services.listings import ACTIVE, PAUSED, SOLD_OUT, Certs, Listing, ListingRepo
from bot.services.orders import NEW, OrderRefused, OrderRepo
from bot.services.search import MIN_QUERY, MIN_SCORE, SPREAD, Filters, find
from bot.services.users import User
from bot.storage.db import Store
from bot.text import fold

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TYPED = ["rau cải ngọt", "Gà đồi Lộc Bình", "mật ong rừng", "Na dai Chi Lăng", "hồng không hạt"]
AREAS = ["chi-lang", "loc-binh", "that-khe", "cao-loc"]


def _products() -> Directory:
    return Directory.from_yaml(CONTENT_DIR / "products.yaml")


def _listing(rng: random.Random, products: Directory, farmer_id: int) -> Listing:
    entry = rng.choice(products.entries) if rng.random() < 0.7 else None
    stock = str(rng.choice([0, 5, 10, 40]))
    return Listing(
        farmer_id=farmer_id,
        area=rng.choice(AREAS),
        product_id=entry.id if entry else "",
        product_name=entry.name if entry else rng.choice(TYPED),
        quantity=stock,
        stock=stock,
        price=30000,
        certs=Certs(ocop=rng.choice([0, 0, 4]), vietgap=rng.random() < 0.3),
        status=rng.choice([ACTIVE, ACTIVE, ACTIVE, PAUSED, SOLD_OUT]),
    )


def _expected_free(store: Store, repo: ListingRepo, orders: OrderRepo) -> dict[int, Decimal]:
    """What buyers may order of each listing, worked out from the stored documents alone."""
    free = {}
    for listing in repo.all():
        if listing.status != ACTIVE:
            continue
        held = sum((o.qty for o in orders.with_status(NEW) if o.listing_id == listing.id), start=0)
        left = Decimal(listing.stock) - held
        if left > 0:
            free[listing.id] = left
    return free


def _reference(listings: list[Listing], products: Directory, filters: Filters) -> list[int]:
    """Search as it was before the index: every listing scored one by one."""
    pool = [
        x
        for x in listings
        if (not filters.product or (x.product_id or "_other") == filters.product)
        and (not filters.area or x.area == filters.area)
        and (not filters.cert or bool(getattr(x.certs, filters.cert)))
    ]
    query = fold(filters.text)
    if not query:
        return sorted((x.id for x in pool), reverse=True)
    if len(query) < MIN_QUERY:
        return []
    scored = []
    for x in pool:
        entry = products.get(x.product_id) if x.product_id else None
        names = {fold(x.product_name)} | (
            {fold(n) for n in (entry.name, *entry.aliases)} if entry else set()
        )
        scores = [fuzz.token_set_ratio(query, n) for n in names - {""}]
        best = max((s for s in scores if s >= MIN_SCORE), default=None)
        if best is not None:
            scored.append((best, x.id))
    if not scored:
        return []
    top = max(s for s, _i in scored)
    kept = [(s, i) for s, i in scored if s >= top - SPREAD]
    return [i for _s, i in sorted(kept, key=lambda p: (-p[0], -p[1]))]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as opened:
        yield opened


def test_index_follows_every_write_and_is_rebuilt_on_reopen(tmp_path: Path) -> None:
    rng = random.Random(7)
    products = _products()
    buyer = User(id=999, name="Khách")
    with Store(tmp_path / "data") as store:
        repo = ListingRepo(store)
        orders = OrderRepo(store, repo, reminder_hours=4, expiry_hours=24)
        for step in range(300):
            roll = rng.random()
            mine = repo.all()
            if roll < 0.35 or not mine:
                repo.add(_listing(rng, products, farmer_id=rng.randint(1, 5)))
            elif roll < 0.5:
                listing = rng.choice(mine)
                listing.status = rng.choice([ACTIVE, PAUSED, SOLD_OUT])
                listing.stock = str(rng.choice([0, 3, 20]))
                repo.save(listing)
            elif roll < 0.55:
                repo.delete(rng.choice(mine).id)
            elif roll < 0.8:
                listing = rng.choice(mine)
                free = orders.available(listing)
                if free > 0:
                    orders.place(
                        listing.id,
                        buyer,
                        min(free, Decimal(rng.choice([1, 2, 5]))),
                        name="Khách",
                        phone="+84987654321",
                        address="Lạng Sơn",
                        note="",
                        form_id=f"f{step}",
                        now=NOW,
                    )
            else:
                waiting = orders.with_status(NEW)
                if waiting:
                    order = rng.choice(waiting)
                    try:
                        if rng.random() < 0.5:
                            orders.confirm(order.id, NOW)
                        else:
                            orders.cancel(order.id, "buyer", "", NOW)
                    except OrderRefused:  # e.g. more than the stock left: fine here
                        pass
            expected = _expected_free(store, repo, orders)
            assert repo.offers.offered() == set(expected), step
            assert all(repo.offers.free(i) == v for i, v in expected.items()), step
        before = repo.offers.offered()
        assert before  # the walk left something on sale
    with Store(tmp_path / "data") as store:
        repo = ListingRepo(store)
        OrderRepo(store, repo, reminder_hours=4, expiry_hours=24)
        assert repo.offers.offered() == before


def test_results_match_scoring_every_listing(store: Store) -> None:
    rng = random.Random(11)
    products = _products()
    repo = ListingRepo(store)
    OrderRepo(store, repo, reminder_hours=4, expiry_hours=24)
    for _ in range(400):
        repo.add(_listing(rng, products, farmer_id=1))
    on_sale = [x for x in repo.all() if x.status == ACTIVE and Decimal(x.stock) > 0]
    queries = ["na chi lang", "na", "hong", "Hồng không hạt", "thach den", "mat ong", "ga doi"]
    queries += ["rau", "x", "quýt", "<b>", "na lang son", "hong lang son", "quyt lang sn", ""]
    for text in queries:
        for product in ("", "na-chi-lang", "_other"):
            for area in ("", "chi-lang"):
                for cert in ("", "ocop", "vietgap"):
                    filters = Filters(text, product, area, cert)
                    assert find(repo.offers, products, filters) == _reference(
                        on_sale, products, filters
                    ), filters


def test_a_write_around_the_repo_is_corrected_when_its_page_is_loaded(store: Store) -> None:
    products = _products()
    repo = ListingRepo(store)
    [kept, paused] = [
        repo.add(Listing(product_id="na-chi-lang", product_name="Na Chi Lăng", stock="9"))
        for _ in range(2)
    ]
    table = store.table("listings")
    table.update({"status": PAUSED}, doc_ids=[paused.id])  # not through the repo
    found = find(repo.offers, products, Filters("na chi lang"))
    assert found == [paused.id, kept.id]
    assert [x.id for x in repo.on_sale(found)] == [kept.id]
    assert find(repo.offers, products, Filters("na chi lang")) == [kept.id]


def test_counts_by_product_and_area_leave_out_what_cannot_be_ordered(store: Store) -> None:
    repo = ListingRepo(store)
    orders = OrderRepo(store, repo, reminder_hours=4, expiry_hours=24)
    na = repo.add(Listing(product_id="na-chi-lang", product_name="Na", area="chi-lang", stock="5"))
    repo.add(Listing(product_id="na-chi-lang", product_name="Na", area="loc-binh", stock="0"))
    repo.add(Listing(product_name="Gà đồi", area="loc-binh", stock="3", status=PAUSED))
    repo.add(Listing(product_name="Gà đồi", area="loc-binh", stock="3"))
    assert repo.offers.counts("product") == {"na-chi-lang": 1, "_other": 1}
    assert repo.offers.counts("area") == {"chi-lang": 1, "loc-binh": 1}
    buyer = User(id=50, name="Khách")
    orders.place(
        na.id,
        buyer,
        Decimal(5),
        name="Khách",
        phone="+84987654321",
        address="Lạng Sơn",
        note="",
        form_id="f1",
        now=NOW,
    )
    assert repo.offers.counts("product") == {"_other": 1}  # all 5 kg wait for the farmer
    assert repo.offers.free(na.id) == 0


def test_orders_keep_stock_in_the_listing_repository_they_are_given(store: Store) -> None:
    repo, other = ListingRepo(store), ListingRepo(store)
    orders = OrderRepo(store, repo, reminder_hours=4, expiry_hours=24)
    assert orders.listings is repo and repo.offers is not other.offers  # no hidden sharing
