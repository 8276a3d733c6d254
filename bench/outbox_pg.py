"""Outbox bench on PostgreSQL: two senders on one database share a broadcast, one is killed.

    .venv/bin/python bench/outbox_pg.py --users 300 --rate 30 --kill-at 0
    .venv/bin/python bench/outbox_pg.py --users 2000 --rate 100 --kill-at 0.5

(the README's two sets of figures: the rate and statements per send, then a kill at half).

A throwaway PostgreSQL cluster (as the tests start it), two bot apps in this process on one
database, both running the broadcast outbox's sender for the same notice over a fake channel
that records each send's time (`--latency` per request). When `--kill-at` of the recipients
have it, the first sender is stopped the way `kill -9` stops it (its connections cut, nothing
flushed); the second takes its stale claims over after `--claim-timeout` seconds. The real
multi-process version (subprocesses, SIGKILL) is another bench's.

Prints the achieved rate against the limit, the busiest second, missed recipients and
duplicates (and the claims left by the killed sender, their bound), the statements sent to
the database while sending (claims, outcomes, budget slots, other: one round trip each), and
ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.clock import FakeClock
from bot.services.broadcast import DONE
from bot.services.outbox import IN_FLIGHT
from bot.storage.budget import SharedBudget
from tests.helpers.driver import make_app
from tests.helpers.pg_cluster import PgCluster
from tests.helpers.senders import abandon, broadcast_to, busiest_second, claims_of, prepare


def count_round_trips(counts: dict[str, int]) -> None:
    """Count the statements sent to the database (each one round trip), by what they do."""
    inner = psycopg.AsyncCursor.execute

    async def counted(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query if isinstance(query, str) else bytes(query).decode(errors="replace")
        if "rate_budgets" in text:
            kind = "budget"
        elif text.lstrip().startswith("WITH want"):
            claim = f'"status":"{IN_FLIGHT}"' in str(params.get("fields"))
            kind = "claim" if claim else "outcome"
        else:
            kind = "other"
        counts[kind] += 1
        return await inner(self, query, params, **kwargs)

    psycopg.AsyncCursor.execute = counted  # type: ignore[method-assign]


async def run(args: argparse.Namespace, url: str, root: Path) -> dict[str, Any]:
    clock = FakeClock()
    apps = [make_app(root / name, clock, database_url=url) for name in ("a", "b")]
    for app in apps:
        await app.open()
    channels = [prepare(app, args.rate, args.claim_timeout, args.latency) for app in apps]
    victim, survivor = apps
    broadcast_id = await broadcast_to(victim, args.users)
    counts = dict.fromkeys(("claim", "outcome", "budget", "other"), 0)
    count_round_trips(counts)
    kill_at = int(args.users * args.kill_at)
    reached = asyncio.Event()

    def watch(_n: int) -> None:
        if kill_at and sum(len(c.sent) for c in channels) >= kill_at:
            reached.set()

    for channel in channels:
        channel.on_send = watch
    started = time.monotonic()
    senders = [asyncio.create_task(app.services.outbox.run()) for app in apps]
    left: list[int] = []
    killed_at = 0.0
    try:
        if kill_at:
            await reached.wait()
            killed_at = time.monotonic() - started
            channels[0].dead = True
            senders[0].cancel()
            await abandon(victim)
            await asyncio.sleep(0.3)  # a statement the server had already received still commits
            left = claims_of(url, victim.services.outbox.claimer)
        while True:
            found = survivor.services.broadcasts.get(broadcast_id)
            if found is not None and found.status == DONE and not survivor.services.outbox.sending:
                break
            await asyncio.sleep(0.05)
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
    elapsed = time.monotonic() - started
    times = sorted(t for c in channels for t, _chat in c.sent)
    got = [chat for c in channels for _t, chat in c.sent]
    budgets = [
        b for app in apps for b in app.services.outbox.budgets if isinstance(b, SharedBudget)
    ]
    sends = len(got)
    # Sending time without the wait for stale claims: the first send to the last before it.
    before_wait = [t for t in times if not left or t - times[0] <= killed_at + 0.5] or times
    active = (before_wait[-1] - times[0]) or 1.0
    result = {
        "users": args.users,
        "limit": args.rate,
        "slot_rate": round(budgets[0].rate, 2) if budgets else None,
        "achieved_rate": round((len(before_wait) - 1) / active, 1),
        "busiest_second": busiest_second(times),
        "missed": args.users - len(set(got)),
        "duplicates": sends - len(set(got)),
        "claims_left_at_kill": len(left),
        "taken_over": survivor.services.outbox.taken_over,
        "per_sender": [len(c.sent) for c in channels],
        "elapsed_s": round(elapsed, 2),
        "claim_round_trips": counts["claim"],
        "outcome_round_trips": counts["outcome"],
        "budget_round_trips": counts["budget"],
        "other_round_trips": counts["other"],
        "max_slots_per_budget_trip": budgets[0].batch if budgets else None,
        "lapsed_slots": sum(b.lapsed for b in budgets),
        "round_trips_per_send": round(sum(counts.values()) / max(sends, 1), 2),
    }
    await survivor.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--kill-at", type=float, default=0.5, help="0: nobody is killed")
    parser.add_argument("--claim-timeout", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    with PgCluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        _name, url = cluster.create_database()
        result = asyncio.run(run(args, url, Path(tmp)))
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
