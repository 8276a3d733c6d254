"""Zalo throughput: simulated users on the whole bot against the fake Zalo OA and Bot servers.

OA: users post signed webhook events concurrently; measures the webhook's answer time (Zalo
wants one within 2 s, whatever the processing) and how fast replies reach the users.
Zalo Bot: one update per getUpdates call and no offset, so updates are fetched one at a time;
measures updates/s through long polling.

    .venv/bin/python bench/zalo.py --users 100 --steps 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.clock import Clock  # noqa: E402
from bot.i18n import load_catalogs  # noqa: E402
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA  # noqa: E402
from tests.zalo_helpers import start_zalo_bot  # noqa: E402

STEPS = ["Xin chào", "Lan", "0912345678", "chi lang", "1", "1", "Xong", "1"]


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(users: int, steps: int) -> dict[str, float]:
    """Run both channels; return the figures."""
    load_catalogs()
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeZaloOA() as oa_fake, FakeZaloBot() as bot_fake:
            zalo = await start_zalo_bot(Path(tmp) / "data", Clock(), oa_fake, bot_fake)
            acks: list[float] = []

            async def oa_user(n: int) -> None:
                for text in STEPS[:steps]:
                    event = oa_fake.event("user_send_text", f"u{n}", text=text)
                    started = time.perf_counter()
                    assert await oa_fake.deliver(event) == 200
                    acks.append(time.perf_counter() - started)
                    await zalo.oa.idle()

            started = time.perf_counter()
            await asyncio.gather(*(oa_user(n) for n in range(users)))
            await zalo.oa.idle()
            oa_seconds = time.perf_counter() - started

            started = time.perf_counter()
            for step in STEPS[:steps]:
                for n in range(users):
                    bot_fake.push(bot_fake.update(f"c{n}", step))
                await zalo.settle_bot()
            bot_seconds = time.perf_counter() - started
            await zalo.app.stop()
            events = users * steps
            return {
                "users": users,
                "events_per_channel": events,
                "oa_ack_p50_ms": round(pct(acks, 0.5), 2),
                "oa_ack_p95_ms": round(pct(acks, 0.95), 2),
                "oa_ack_max_ms": round(max(acks) * 1000, 2),
                "oa_events_per_s": round(events / oa_seconds, 1),
                "oa_messages_sent": len(oa_fake.sent),
                "bot_updates_per_s": round(events / bot_seconds, 1),
                "bot_messages_sent": len(bot_fake.sent),
                "ack_mean_ms": round(1000 * statistics.mean(acks), 2),
            }


def main() -> None:
    """Parse arguments, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--steps", type=int, default=4, choices=range(1, len(STEPS) + 1))
    args = parser.parse_args()
    figures = asyncio.run(bench(args.users, args.steps))
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
