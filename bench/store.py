"""Store bench: durable updates vs SQLite and the fsync floor, inserts, indexed queries, open, RSS.

    .venv/bin/python bench/store.py --dir /tmp/ndsbench --users 100000 --listings 100000 \
        --orders 300000

Builds the store (and an SQLite copy: WAL, synchronous=FULL, one JSON document per row) in
--dir, or reuses them when their sizes match, then measures everything in one run and ends with
one JSON line of all figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinydb import TinyDB
from tinydb.storages import JSONStorage

from bench import store_data as data
from bot.storage.codec import dumps
from bot.storage.db import Store
from bot.storage.log import encode_line
from bot.storage.table import LogTable

# The indexes the repositories declare (bot/services/users.py, listings.py, orders.py).
INDEXES = {
    "users": ("ident", "phone", "area", "role", "roles"),
    "listings": ("farmer_id", "product_id", "status", "area", "form_id"),
    "orders": ("buyer_id", "farmer_id", "listing_id", "status", "code", "day", "form_id"),
}
Tables = dict[str, LogTable]


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for printing."""
    return round(seconds * 1000, 4)


def summary(samples: list[float]) -> dict[str, float]:
    """Median, p99 and mean of latencies, in ms."""
    ordered = sorted(samples)
    return {
        "median_ms": ms(statistics.median(ordered)),
        "p99_ms": ms(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]),
        "mean_ms": ms(statistics.fmean(ordered)),
    }


def rss_mb() -> float:
    """Resident memory of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def open_tables(store: Store) -> Tables:
    """Declare the tables with their production indexes."""
    tables = {name: store.table(name, indexes=idx) for name, idx in INDEXES.items()}
    assert all(isinstance(t, LogTable) for t in tables.values())
    return tables  # type: ignore[return-value]


# --- building ----------------------------------------------------------------------------


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Create the store and the SQLite copy from scratch; return bulk-load figures."""
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    rng = random.Random(42)
    started = time.perf_counter()
    sqlite = connect_sqlite(args.dir / "sqlite.db")
    with Store(args.dir / "store") as store:
        tables = open_tables(store)
        users = [data.user(rng, n) for n in range(args.users)]
        load(tables["users"], sqlite, "users", users)
        farmers = [i + 1 for i, u in enumerate(users) if u["role"] == "farmer"]
        buyers = [i + 1 for i, u in enumerate(users) if u["role"] == "buyer"]
        listings = []
        for _ in range(args.listings):
            farmer = rng.choice(farmers)
            listings.append(data.listing(rng, farmer, users[farmer - 1]["area"]))
        load(tables["listings"], sqlite, "listings", listings)
        orders = []
        for n in range(args.orders):
            lid = rng.randrange(1, args.listings + 1)
            lst = listings[lid - 1]
            orders.append(
                data.order(rng, n, lid, lst["farmer_id"], rng.choice(buyers), lst["price"])
            )
        load(tables["orders"], sqlite, "orders", orders)
        store.compact()  # start the measured run from a snapshot, as a long-running bot would
    sqlite.close()
    seconds = time.perf_counter() - started
    docs = args.users + args.listings + args.orders
    return {"build_s": round(seconds, 1), "bulk_docs_per_s": round(docs / seconds)}


def load(
    table: LogTable, sqlite: sqlite3.Connection, name: str, docs: list[dict[str, Any]]
) -> None:
    """Insert documents in batches of 1000 (one fsync'd record each) into both stores."""
    for start in range(0, len(docs), 1000):
        ids = table.insert_multiple(docs[start : start + 1000])
        sqlite.execute("BEGIN")
        sqlite.executemany(
            f"INSERT INTO {name} (id, doc) VALUES (?, ?)",
            [(i, dumps(d).decode()) for i, d in zip(ids, docs[start : start + 1000], strict=True)],
        )
        sqlite.execute("COMMIT")


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """SQLite in WAL mode with a full fsync per commit, one JSON document per row."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    for name in INDEXES:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY, doc TEXT)")
    return conn


# --- measurements ------------------------------------------------------------------------


def updates(
    tables: Tables, sqlite: sqlite3.Connection, rng: random.Random, count: int
) -> tuple[list[float], list[float], int]:
    """The same durable updates on both stores, interleaved so they share disk conditions."""
    ours: list[float] = []
    theirs: list[float] = []
    record_bytes = 0
    listings, orders = tables["listings"], tables["orders"]
    for n in range(count):
        if n % 2:
            name, table, doc_id = "listings", listings, rng.randrange(1, len(listings) + 1)
            fields: Any = {"stock": str(rng.randrange(500)), "updated_at": data.stamp(rng)}
        else:
            name, table, doc_id = "orders", orders, rng.randrange(1, len(orders) + 1)
            step = {"status": rng.choice(data.ORDER_STEPS), "at": data.stamp(rng)}

            def fields(d: dict[str, Any], step: dict[str, Any] = step) -> None:
                d["status"] = step["status"]
                d["history"].append(step)

        started = time.perf_counter()
        table.update(fields, doc_ids=[doc_id])
        ours.append(time.perf_counter() - started)
        new = table.get(doc_id=doc_id)
        started = time.perf_counter()
        text = dumps(new).decode()
        sqlite.execute(f"UPDATE {name} SET doc = ? WHERE id = ?", (text, doc_id))
        theirs.append(time.perf_counter() - started)
        record_bytes += len(text) + 30
    return ours, theirs, record_bytes // count


def fsync_floor(path: Path, size: int, count: int) -> list[float]:
    """A bare append of `size` bytes plus fdatasync: what any durable write must pay."""
    line = encode_line(b"x" * size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)
    samples = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.write(fd, line)
            os.fdatasync(fd)
            samples.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    return samples


def stock_tinydb(path: Path, tables: Tables, rng: random.Random, count: int) -> list[float]:
    """Stock TinyDB JSONStorage on a 10k-document copy: every update rewrites the file."""
    path.unlink(missing_ok=True)
    db = TinyDB(str(path), storage=JSONStorage)
    table = db.table("listings")
    source = tables["listings"]
    table.insert_multiple(dict(source.by_id(i) or {}) for i in range(1, 10_001))
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        table.update({"stock": str(rng.randrange(500))}, doc_ids=[rng.randrange(1, 10_001)])
        samples.append(time.perf_counter() - started)
    db.close()
    path.unlink()
    return samples


def small_store(path: Path, rng: random.Random, count: int) -> list[float]:
    """The same kind of update on a 100-document store: the cost must not depend on size."""
    shutil.rmtree(path, ignore_errors=True)
    samples = []
    with Store(path) as store:
        table = store.table("listings", indexes=INDEXES["listings"])
        table.insert_multiple(data.listing(rng, i, "cao-loc") for i in range(100))
        for _ in range(count):
            started = time.perf_counter()
            table.update({"stock": str(rng.randrange(500))}, doc_ids=[rng.randrange(1, 101)])
            samples.append(time.perf_counter() - started)
    shutil.rmtree(path)
    return samples


def timed(query: Callable[[], Any], count: int) -> tuple[dict[str, float], float]:
    """Latency of a query over `count` runs, and the mean number of results."""
    samples = []
    sizes = 0
    for _ in range(count):
        started = time.perf_counter()
        result = query()
        samples.append(time.perf_counter() - started)
        sizes += len(result) if isinstance(result, list) else int(result is not None)
    return summary(samples), round(sizes / count, 1)


def by_id(table: LogTable, doc_id: int) -> dict[str, Any]:
    """A document that must exist."""
    doc = table.get(doc_id=doc_id)
    assert isinstance(doc, dict)
    return doc


def lookups(store: Store, tables: Tables, rng: random.Random) -> dict[str, Any]:
    """Lookup by id and the hot-path queries, through the secondary indexes."""
    users, listings, orders = tables["users"], tables["listings"], tables["orders"]
    n_users, n_listings = len(users), len(listings)
    some_users = [by_id(users, rng.randrange(1, n_users + 1)) for _ in range(200)]
    idents = [u["ident"][0] for u in some_users]
    phones = [u["phone"] for u in some_users]
    farmers = [by_id(listings, rng.randrange(1, n_listings + 1))["farmer_id"] for _ in range(200)]

    def area_farmers() -> dict[str, Any]:
        return {"area": rng.choice(data.AREAS), "role": "farmer"}

    def active_product() -> dict[str, Any]:
        return {"product_id": rng.choice(data.PRODUCTS)[0], "status": "active"}

    queries: dict[str, Callable[[], Any]] = {
        "user_by_id": lambda: users.get(doc_id=rng.randrange(1, n_users + 1)),
        "user_by_platform_id": lambda: store.find(users, "ident", rng.choice(idents)),
        "user_by_phone": lambda: store.find(users, "phone", rng.choice(phones)),
        "farmer_listings": lambda: store.find(listings, "farmer_id", rng.choice(farmers)),
        "listing_orders": lambda: store.find(
            orders, "listing_id", rng.randrange(1, n_listings + 1)
        ),
        # Every matching document, copied out (a report: the bot never does this on a reply);
        # how many match (a broadcast's audience count); a page of the 20 newest (a reply).
        "farmers_in_area_all": lambda: store.find_where(users, area_farmers()),
        "farmers_in_area_count": lambda: store.count_where(users, area_farmers()),
        "farmers_in_area_page": lambda: users.get(
            doc_ids=store.find_ids(users, area_farmers())[-20:]
        ),
        "active_listings_for_product_all": lambda: store.find_where(listings, active_product()),
        "active_listings_for_product_page": lambda: listings.get(
            doc_ids=store.find_ids(listings, active_product())[-20:]
        ),
    }
    out: dict[str, Any] = {}
    for name, query in queries.items():
        figures, mean_results = timed(query, 20_000 if name == "user_by_id" else 1000)
        out[name] = {**figures, "mean_results": mean_results}
    return out


def sustained_inserts(store: Store, rng: random.Random, count: int) -> dict[str, Any]:
    """`count` single-document durable inserts in a row, into the full store."""
    table = store.table("bench_orders", indexes=INDEXES["orders"])
    table.truncate()
    samples = []
    started = time.perf_counter()
    for n in range(count):
        doc = data.order(rng, n, rng.randrange(1, 1000), 1, 2, 30_000)
        t0 = time.perf_counter()
        table.insert(doc)
        samples.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    table.truncate()
    return {"count": count, "per_s": round(count / seconds), **summary(samples)}


def compaction(store: Store, tables: Tables, rng: random.Random) -> dict[str, Any]:
    """Compact in the background while updating: how long, and what writes cost meanwhile."""
    listings = tables["listings"]
    # The sustained inserts before may have started one of their own: let it finish, so this
    # phase measures one whole compaction it started itself.
    waited = time.perf_counter()
    store.engine.wait_compaction()
    waited = time.perf_counter() - waited
    started = time.perf_counter()
    if not store.compact(wait=False):
        raise SystemExit("compaction phase: the store refused to start a compaction")
    samples = []
    while store.engine.compacting:
        t0 = time.perf_counter()
        listings.update({"stock": str(rng.randrange(500))}, doc_ids=[rng.randrange(1, 1001)])
        samples.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "waited_for_previous_s": round(waited, 2),
        "updates_meanwhile": len(samples),
        **summary(samples),
    }


def main() -> None:
    """Build or reuse, measure, print figures and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ndsbench"))
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--inserts", type=int, default=100_000)
    parser.add_argument("--tinydb-updates", type=int, default=30)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = {"users": args.users, "listings": args.listings, "orders": args.orders}
    marker = args.dir / "bench.json"
    if args.build_only:
        marker.parent.mkdir(parents=True, exist_ok=True)
        built = build(args)
        marker.write_text(json.dumps({"sizes": sizes, **built}))
        return
    built_now = False
    if not marker.exists() or json.loads(marker.read_text()).get("sizes") != sizes:
        # Build in a child so this process's memory figure is that of a bot opening the store.
        print(f"building {sizes} in {args.dir} ...", flush=True)
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--build-only"], check=True)
        built_now = True
    build_info = json.loads(marker.read_text())
    rng = random.Random(7)
    figures: dict[str, Any] = {"sizes": sizes, "reused": not built_now}
    figures["build"] = {k: build_info[k] for k in ("build_s", "bulk_docs_per_s")}

    gc.collect()
    rss_before = rss_mb()
    started = time.perf_counter()
    store = Store(args.dir / "store")
    tables = open_tables(store)
    figures["open_s"] = round(time.perf_counter() - started, 2)
    figures["rss_mb"] = rss_mb()
    figures["rss_store_mb"] = round(figures["rss_mb"] - rss_before, 1)
    print(f"opened {sum(len(t) for t in tables.values())} docs in {figures['open_s']} s, "
          f"RSS {figures['rss_mb']} MB", flush=True)  # fmt: skip

    sqlite = connect_sqlite(args.dir / "sqlite.db")
    ours, theirs, record_bytes = updates(tables, sqlite, rng, args.updates)
    sqlite.close()
    floor = fsync_floor(args.dir / "floor.bin", record_bytes, args.updates)
    stock = stock_tinydb(args.dir / "tinydb-10k.json", tables, rng, args.tinydb_updates)
    small = small_store(args.dir / "small", rng, args.updates)
    upd = figures["update"] = {
        "ours": summary(ours),
        "sqlite_wal_full": summary(theirs),
        "fsync_append_floor": summary(floor),
        "tinydb_jsonstorage_10k": summary(stock),
        "ours_100_docs": summary(small),
        "record_bytes": record_bytes,
    }
    median = {k: v["median_ms"] for k, v in upd.items() if isinstance(v, dict)}
    upd["ratios"] = {
        "ours_vs_sqlite": round(median["ours"] / median["sqlite_wal_full"], 2),
        "ours_vs_floor": round(median["ours"] / median["fsync_append_floor"], 2),
        "sqlite_vs_floor": round(median["sqlite_wal_full"] / median["fsync_append_floor"], 2),
        "tinydb_10k_vs_ours": round(median["tinydb_jsonstorage_10k"] / median["ours"], 1),
        "ours_500k_vs_100_docs": round(median["ours"] / median["ours_100_docs"], 2),
    }
    print("update:", json.dumps(upd, ensure_ascii=False), flush=True)
    figures["lookup"] = lookups(store, tables, rng)
    print("lookup:", json.dumps(figures["lookup"]), flush=True)
    figures["inserts"] = sustained_inserts(store, rng, args.inserts)
    print("inserts:", json.dumps(figures["inserts"]), flush=True)
    figures["compaction"] = compaction(store, tables, rng)
    print("compaction:", json.dumps(figures["compaction"]), flush=True)
    figures["rss_end_mb"] = rss_mb()
    store.close()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
