"""Deletion bench: how long until a deleted farmer is gone from every file of a big store.

    .venv/bin/python bench/deletion.py --dir /tmp/ndsdelete --users 100000 --listings 100000 \
        --orders 300000

Builds a store of that size in --dir (from scratch), compacts it as a long-running bot would
have, then a farmer with listings and orders deletes her data: it times the deletion itself (on
the event loop), the compaction it triggers (in a child process) until no file holds her name or
phone, and what 20 more deletions within the same minute cost (they share the next compaction).
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import store_data as data
from bot.config import Settings
from bot.core.clock import FakeClock
from bot.services.container import build_services
from bot.storage.db import Store

CHUNK = 5000
MARK_NAME = "Hoàng Thị Mận Bench"
MARK_PHONE = "+84938517246"


def build(args: argparse.Namespace) -> Path:
    """A store of the asked size, its first farmer renamed to the values the bench looks for."""
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    rng = random.Random(42)
    with Store(args.dir) as store:
        users = [data.user(rng, n) for n in range(args.users)]
        farmers = [i + 1 for i, u in enumerate(users) if u["role"] == "farmer"]
        buyers = [i + 1 for i, u in enumerate(users) if u["role"] == "buyer"]
        first = users[farmers[0] - 1]
        first.update(name=MARK_NAME, phone=MARK_PHONE)
        insert(store, "users", users)
        listings = []
        for n in range(args.listings):
            farmer = farmers[0] if n < 20 else rng.choice(farmers)
            listings.append(data.listing(rng, farmer, users[farmer - 1]["area"]))
        insert(store, "listings", listings)
        orders = []
        for n in range(args.orders):
            listing_id = rng.randrange(1, args.listings + 1) if n >= 50 else 1 + n % 20
            bought = listings[listing_id - 1]
            buyer = rng.choice(buyers)
            orders.append(
                data.order(rng, n, listing_id, bought["farmer_id"], buyer, bought["price"])
            )
        insert(store, "orders", orders)
        store.compact()
    return args.dir


def insert(store: Store, name: str, docs: list[dict[str, Any]]) -> None:
    """Bulk-load a table in durable chunks."""
    table = store.table(name)
    for start in range(0, len(docs), CHUNK):
        table.insert_multiple(docs[start : start + CHUNK])


def holders(data_dir: Path, needles: list[bytes]) -> list[str]:
    """Files under the dir that hold any needle."""
    found = []
    for path in data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            if any(n in content for n in needles):
                found.append(path.name)
    return found


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Delete the marked farmer and time each step; then a burst of deletions."""
    needles = [MARK_NAME.encode(), MARK_PHONE.encode()]
    clock = FakeClock()
    with Store(args.dir) as store:
        services = build_services(Settings(data_dir=args.dir), store, clock)
        [user] = services.users.by_phone(MARK_PHONE)
        before = holders(args.dir, needles)
        started = time.perf_counter()
        with store.deferred_sync():  # as the chat and the console do: one fsync at the end
            services.delete_user(user)
        await store.flush()
        deleted = time.perf_counter() - started
        started = time.perf_counter()
        assert await services.purger.run_due()
        purged = time.perf_counter() - started
        after = holders(args.dir, needles)
        snapshot = sum(p.stat().st_size for p in args.dir.glob("snap-*.jsonl"))
        burst = []
        for other in [u for u in services.users.all() if u.registered][:20]:
            started = time.perf_counter()
            with store.deferred_sync():
                services.delete_user(other)
            await store.flush()
            burst.append(time.perf_counter() - started)
            await services.purger.run_due()  # refused: within the minute of the last one
        compactions_in_burst = services.purger.runs - 1
    return {
        "users": args.users,
        "listings": args.listings,
        "orders": args.orders,
        "snapshot_mb": round(snapshot / 1e6, 1),
        "files_holding_her_before": len(before),
        "delete_ms": round(deleted * 1000, 2),
        "compaction_s": round(purged, 2),
        "files_holding_her_after": len(after),
        "burst_deletions": len(burst),
        "burst_delete_ms_max": round(max(burst) * 1000, 2) if burst else 0.0,
        "compactions_in_burst": compactions_in_burst,
    }


def main() -> None:
    """Build, measure, print the figures and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ndsdelete"))
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=60_000)
    args = parser.parse_args()
    started = time.perf_counter()
    build(args)
    print(f"built {args.dir} in {time.perf_counter() - started:.1f} s", flush=True)
    figures = asyncio.run(measure(args))
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
