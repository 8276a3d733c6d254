"""Migration bench: `store migrate --to postgresql://…` of a province-sized embedded store.

    .venv/bin/python bench/migrate.py --dir /tmp/ndsmigrate --users 50000 --listings 50000 \
        --orders 100000

Builds the embedded store in --dir (or reuses it when its sizes match), starts a throwaway
PostgreSQL cluster (tests/helpers/pg_cluster.py; as root it runs as the `postgres` user), then
times the command itself (open, copy, count), a bot's first and second start on the database
(the first creates the database's field indexes) beside a start on the embedded store, a backup of the database (`python -m bot
backup` with DATABASE_URL) and a restore of that backup into a second empty database (copy,
then the tombstones applied through a first start). Ends with one JSON line of all figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import store_data as data
from bot.__main__ import main as cli
from bot.config import Settings
from bot.services.container import build_services
from bot.storage.db import Store
from bot.storage.pg import PgStore
from tests.helpers.pg_cluster import PgCluster, find_bindir


def build(store_dir: Path, users: int, listings: int, orders: int) -> None:
    """An embedded store of farmers and buyers, their listings and orders (one snapshot)."""
    rng = random.Random(42)
    with Store(store_dir) as store:
        people = [data.user(rng, n) for n in range(users)]
        _load(store, "users", people)
        farmers = [i + 1 for i, u in enumerate(people) if u["role"] == "farmer"]
        buyers = [i + 1 for i, u in enumerate(people) if u["role"] == "buyer"]
        offers = []
        for _ in range(listings):
            farmer = rng.choice(farmers)
            offers.append(data.listing(rng, farmer, people[farmer - 1]["area"]))
        _load(store, "listings", offers)
        bought = []
        for n in range(orders):
            lid = rng.randrange(1, listings + 1)
            offer = offers[lid - 1]
            made = data.order(rng, n, lid, offer["farmer_id"], rng.choice(buyers), offer["price"])
            made["code"] += f"-{n}"  # order codes are unique (the database enforces it)
            bought.append(made)
        _load(store, "orders", bought)
        store.compact()


def _load(store: Store, name: str, docs: list[dict[str, Any]]) -> None:
    table = store.table(name)
    for start in range(0, len(docs), 5000):
        table.insert_multiple(docs[start : start + 5000])


def run(*args: str, env: dict[str, str]) -> tuple[int, float, str]:
    """Run the command line in this process: exit code, seconds, what it printed."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    out = io.StringIO()
    try:
        started = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = cli(list(args))
        return code, time.perf_counter() - started, out.getvalue()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def open_bot(url: str, data_dir: Path) -> float:
    """Seconds a bot process takes to open its store and wire its services (url '': embedded)."""
    started = time.perf_counter()
    store = PgStore(url, data_dir) if url else Store(data_dir)
    try:
        build_services(Settings(data_dir=data_dir), store)
        return time.perf_counter() - started
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ndsmigrate"))
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    store_dir = args.dir / "store"
    sizes = args.dir / "sizes.json"
    wanted = [args.users, args.listings, args.orders]
    if not sizes.exists() or json.loads(sizes.read_text()) != wanted:
        started = time.perf_counter()
        store_dir.mkdir(parents=True, exist_ok=True)
        for old in store_dir.iterdir():
            old.unlink()
        build(store_dir, *wanted)
        sizes.write_text(json.dumps(wanted))
        print(f"built the store in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    docs = sum(wanted)
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL is not installed")
    figures: dict[str, Any] = {"docs": docs, "batch": args.batch}
    with PgCluster(bindir) as cluster:
        _, url = cluster.create_database()
        env = {"DATA_DIR": str(store_dir), "DATABASE_URL": ""}
        code, seconds, said = run(
            "store", "migrate", "--to", url, "--batch", str(args.batch), env=env
        )
        assert code == 0, said
        figures["migrate_s"] = round(seconds, 1)
        figures["migrate_docs_per_s"] = round(docs / seconds)
        figures["embedded_bot_open_s"] = round(open_bot("", store_dir), 1)
        for start in ("first", "second"):  # the first creates the database's field indexes
            figures[f"{start}_bot_open_s"] = round(open_bot(url, args.dir / "pgdata"), 1)
        snapshot = args.dir / "pg-backup.jsonl"
        code, seconds, said = run(
            "backup",
            str(snapshot),
            env={"DATA_DIR": str(args.dir / "pgdata"), "DATABASE_URL": url},
        )
        assert code == 0, said
        figures["pg_backup_s"] = round(seconds, 1)
        _, second = cluster.create_database()
        code, seconds, said = run(
            "restore",
            str(snapshot),
            env={"DATA_DIR": str(args.dir / "pgdata"), "DATABASE_URL": second},
        )
        assert code == 0, said
        figures["pg_restore_s"] = round(seconds, 1)
        figures["pg_restore_docs_per_s"] = round(docs / seconds)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
