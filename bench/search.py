"""Buyer search at province scale: the offer index against 10k and 100k active listings.

    .venv/bin/python bench/search.py [--sizes 10000,100000] [--steps 200]

For each size a temp DATA_DIR gets that many active listings (plus a quarter as many paused or
sold out, and one new order per 50 listings): 85 % catalog products (name as in the catalog),
15 % typed freely from a vocabulary, in every commune, some certified. Then:

- `index build`: the offer index built when the bot starts;
- `copy active`: what every results page cost before the index (copying every active listing);
- `search`: the index query alone (product names scored, ids ordered), after a write each time
  so no remembered result helps;
- `step`: a whole buyer step through the engine — the buyer types a product name on the
  results page, the bot searches, loads the page's five listings and writes their cards —
  again after a write each time (a listing saved, as farmers do all day).
- `market`: the open market page /cho over HTTP (search, filters, a page of 20 cards):
  `fresh` after a write each time (rendered again), `cached` when nothing changed; and the
  largest page's size.

Prints the figures, then one JSON line with all of them (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.i18n import load_catalogs  # noqa: E402 - after the path setup
from bot.services.catalog import Directory  # noqa: E402
from bot.services.container import CONTENT_DIR  # noqa: E402
from bot.services.listings import ACTIVE, PAUSED, SOLD_OUT, Listing, ListingRepo  # noqa: E402
from bot.services.search import Filters, find  # noqa: E402
from bot.slugs import new_slug  # noqa: E402
from bot.storage.db import Store  # noqa: E402
from tests.helpers.driver import Chat, make_app  # noqa: E402

MARKET_QUERIES = [
    {},
    {"q": "na chi lang"},
    {"q": "hong"},
    {"q": "thach den", "cn": "ocop"},
    {"xa": "chi-lang"},
    {"q": "na", "xa": "chi-lang"},
    {"sp": "na-chi-lang", "trang": "3"},
    {"cn": "vietgap", "trang": "2"},
    {"q": "mat ong rung"},
    {"q": "mien dong"},
]

QUERIES = [
    "na chi lang",
    "na",
    "hồng không hạt",
    "hong",
    "thach den",
    "mat ong rung",
    "ga doi",
    "rau cai",
    "quyt bac son",
    "che dinh lap",
    "gao nep",
    "lon ban",
    "mien dong",  # nothing on sale
]
FIRST = ["rau", "cải", "gà", "vịt", "mật ong", "măng", "nấm", "bí", "khoai", "lạc", "đậu"]
SECOND = ["ngọt", "xanh", "đồi", "rừng", "sạch", "bản", "nương", "khô", "tươi", "mèo", "đỏ"]
THIRD = ["", "nhà trồng", "loại 1", "Lộc Bình", "Bắc Sơn", "Mẫu Sơn", "hữu cơ", "tự nhiên"]
BATCH = 5000
_SLUGS: set[str] = set()
INDEXES = ("farmer_id", "product_id", "status", "area", "form_id")  # as ListingRepo declares


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of the samples, in the samples' unit."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _doc(rng: random.Random, products: Directory, areas: list[str], status: str) -> dict[str, Any]:
    entry = rng.choice(products.entries) if rng.random() < 0.85 else None
    typed = " ".join(w for w in (rng.choice(FIRST), rng.choice(SECOND), rng.choice(THIRD)) if w)
    stock = rng.choice([20, 50, 100, 200, 500])
    listing = Listing(
        farmer_id=rng.randint(1, 30000),
        area=rng.choice(areas),
        product_id=entry.id if entry else "",
        product_name=entry.name if entry else typed,
        grade=rng.choice(["", "loại 1", "loại 2"]),
        unit=str(entry.get("default_unit") or "kg") if entry else "kg",
        quantity=str(stock),
        stock=str(stock),
        price=rng.choice([25000, 45000, 60000, 120000]),
        availability="now",
        photos=[f"tg:PHOTO{rng.randint(1, 10**6)}"],
        description="Hàng nhà trồng, giao tận nơi trong tỉnh.",
        status=status,
        created_at="2026-11-01T08:00:00+07:00",
        updated_at="2026-11-01T08:00:00+07:00",
    )
    listing.slug = new_slug(lambda s: s in _SLUGS)  # as ListingRepo.add gives each one
    _SLUGS.add(listing.slug)
    listing.certs.ocop = rng.choice([0, 0, 0, 3, 4])
    listing.certs.vietgap = rng.random() < 0.2
    return listing.to_doc()


def build(data_dir: Path, active: int, seed: int) -> None:
    """A store with `active` active listings, others paused/sold out, and some new orders."""
    rng = random.Random(seed)
    products = Directory.from_yaml(CONTENT_DIR / "products.yaml")
    areas = [e.id for e in Directory.from_yaml(CONTENT_DIR / "areas.yaml").entries]
    statuses = [ACTIVE] * active + [rng.choice([PAUSED, SOLD_OUT]) for _ in range(active // 4)]
    rng.shuffle(statuses)
    with Store(data_dir) as store:
        table = store.table("listings")
        for start in range(0, len(statuses), BATCH):
            chunk = statuses[start : start + BATCH]
            table.insert_multiple(_doc(rng, products, areas, s) for s in chunk)
        orders = store.table("orders")
        ids = store.find_ids(table, {"status": ACTIVE})
        orders.insert_multiple(
            {
                "listing_id": listing_id,
                "farmer_id": 1,
                "buyer_id": 2,
                "quantity": "5",
                "unit": "kg",
                "status": "new",
                "code": f"DH0111-{n:05d}",
                "day": "2026-11-01",
            }
            for n, listing_id in enumerate(rng.sample(ids, len(ids) // 50))
        )
        store.compact()


def bench_store(data_dir: Path, steps: int) -> dict[str, float]:
    """Index build, the old full copy, and index queries, on the store alone."""
    rng = random.Random(1)
    products = Directory.from_yaml(CONTENT_DIR / "products.yaml")
    with Store(data_dir) as store:
        table = store.table("listings", indexes=INDEXES)  # the store's own, timed apart
        started = time.perf_counter()
        repo = ListingRepo(store)
        build_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        copied = store.find_where(table, {"status": ACTIVE})
        copy_ms = (time.perf_counter() - started) * 1000
        del copied
        offered = sorted(repo.offers.offered())
        areas = list(repo.offers.counts("area"))
        samples = []
        for i in range(steps):
            victim = repo.get(rng.choice(offered))
            assert victim is not None
            repo.save(victim)  # any write forgets remembered results
            filters = Filters(
                QUERIES[i % len(QUERIES)],
                area=rng.choice(areas) if i % 5 == 4 else "",
                cert="ocop" if i % 7 == 6 else "",
            )
            started = time.perf_counter()
            found = find(repo.offers, products, filters)
            repo.on_sale(found[:5])
            samples.append((time.perf_counter() - started) * 1000)
        return {
            "offered": float(len(repo.offers)),
            "index_build_ms": build_ms,
            "copy_active_ms": copy_ms,
            "search_p50_ms": statistics.median(samples),
            "search_p95_ms": percentile(samples, 0.95),
        }


async def bench_steps(data_dir: Path, steps: int) -> dict[str, float]:
    """Whole buyer steps through the engine, each after a listing was written."""
    rng = random.Random(2)
    app = make_app(data_dir)
    try:
        buyer = Chat(app, "web:bench-buyer", "Khách")
        await buyer.onboard(role="buyer", phone="0987654321")
        await buyer.tap("buy")
        await buyer.say("na chi lang")
        repo = app.services.listings
        offered = sorted(repo.offers.offered())
        samples = []
        for i in range(steps):
            victim = repo.get(rng.choice(offered))
            assert victim is not None
            repo.save(victim)
            started = time.perf_counter()
            await buyer.say(QUERIES[i % (len(QUERIES) - 1)])  # each finds something
            samples.append((time.perf_counter() - started) * 1000)
            assert any(p.startswith("o:") for _label, p in buyer.buttons()), buyer.text()
        return {
            "step_p50_ms": statistics.median(samples),
            "step_p95_ms": percentile(samples, 0.95),
        }
    finally:
        await app.stop()


async def bench_market(data_dir: Path, steps: int) -> dict[str, float]:
    """/cho over HTTP: rendered afresh after a write, and served from the page cache."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.server import build_web_app

    rng = random.Random(3)
    app = make_app(data_dir)
    try:
        repo = app.services.listings
        offered = sorted(repo.offers.offered())
        fresh: list[float] = []
        cached: list[float] = []
        largest = 0
        async with TestClient(TestServer(build_web_app(app, None))) as web:
            for i in range(steps):
                params = MARKET_QUERIES[i % len(MARKET_QUERIES)]
                for samples, write in ((fresh, True), (cached, False)):
                    if write:
                        victim = repo.get(rng.choice(offered))
                        assert victim is not None
                        repo.save(victim)  # the page must be rendered again
                    started = time.perf_counter()
                    resp = await web.get("/cho", params=params)
                    body = await resp.read()
                    samples.append((time.perf_counter() - started) * 1000)
                    assert resp.status == 200
                    largest = max(largest, len(body))
        return {
            "market_fresh_p50_ms": statistics.median(fresh),
            "market_fresh_p95_ms": percentile(fresh, 0.95),
            "market_cached_p50_ms": statistics.median(cached),
            "market_cached_p95_ms": percentile(cached, 0.95),
            "market_html_max_kb": largest / 1024,
        }
    finally:
        await app.stop()


def main() -> None:
    """Build each size, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="active listings, comma-separated")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    load_catalogs()
    figures: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix="nds-search-"))
        try:
            started = time.perf_counter()
            build(work / "data", size, seed=size)
            built_s = time.perf_counter() - started
            found = bench_store(work / "data", args.steps)
            found.update(asyncio.run(bench_steps(work / "data", args.steps)))
            found.update(asyncio.run(bench_market(work / "data", args.steps)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        label = f"{size // 1000}k"
        print(f"{label} active listings (store built in {built_s:.1f} s)")
        print(f"  on sale after new orders: {found['offered']:.0f}")
        print(f"  index build at start:     {found['index_build_ms']:.0f} ms")
        print(f"  copy every active (old):  {found['copy_active_ms']:.0f} ms per results page")
        print(
            f"  search (index):           p50 {found['search_p50_ms']:.2f} ms, "
            f"p95 {found['search_p95_ms']:.2f} ms"
        )
        print(
            f"  buyer step (engine):      p50 {found['step_p50_ms']:.2f} ms, "
            f"p95 {found['step_p95_ms']:.2f} ms"
        )
        print(
            f"  market page /cho (HTTP):  fresh p50 {found['market_fresh_p50_ms']:.1f} ms, "
            f"p95 {found['market_fresh_p95_ms']:.1f} ms; cached p50 "
            f"{found['market_cached_p50_ms']:.1f} ms, p95 {found['market_cached_p95_ms']:.1f} ms;"
            f" largest page {found['market_html_max_kb']:.1f} KB"
        )
        figures[label] = {k: round(v, 3) for k, v in found.items()}
    print(json.dumps({"bench": "search", "steps": args.steps, **figures}))


if __name__ == "__main__":
    main()
