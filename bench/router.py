"""Free-text router bench: route accuracy on tests/data/routing.csv, and latency at 5,000 FAQ
entries.

    .venv/bin/python bench/router.py [--entries 5000] [--rounds 20]

The bot runs on a temp store with the seed FAQ plus synthetic entries (bench/faq.py's
products x communes x question templates) up to --entries. Every labelled text is routed
--rounds times at its labelled step: "decide" is the router alone, "with step" adds building
the router's view of the pending question (asking it, as the engine does per update). Runs
on one core (the process is single-threaded; pin it with `taskset -c 0` to be sure). Prints
the figures, then one JSON line with all of them.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from faq import synthetic  # noqa: E402 - after the path setup

from bot.core.router import decide  # noqa: E402
from tests.helpers.driver import Chat, make_app  # noqa: E402
from tests.routing_helpers import Steps, load_rows, score  # noqa: E402


def percentiles(samples: list[float], prefix: str) -> dict[str, float]:
    """p50/p95/max of samples in ms."""
    ordered = sorted(samples)
    return {
        f"{prefix}_p50_ms": round(statistics.median(ordered) * 1000, 3),
        f"{prefix}_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
        f"{prefix}_max_ms": round(ordered[-1] * 1000, 3),
    }


async def run(entries: int, rounds: int) -> dict[str, Any]:
    """Build the bot, fill the FAQ, route every labelled text `rounds` times."""
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        faq = app.services.faq
        extra = max(0, entries - len(faq))
        started = time.perf_counter()
        faq.import_rows(synthetic(extra), now="")
        load_s = time.perf_counter() - started
        chat = Chat(app, "web:bench", "Lan")
        await chat.onboard(role="farmer")
        steps = Steps(app, "web:bench")
        rows = load_rows()
        figures: dict[str, Any] = {"faq_entries": len(faq), "faq_load_s": round(load_s, 2)}
        for split in ("train", "test"):
            result = score(app, steps, [r for r in rows if r.split == split])
            figures[f"{split}_route_accuracy"] = round(result.accuracy, 4)
            figures[f"{split}_questions_into_forms"] = round(result.swallow_rate, 4)
            figures[f"{split}_slot_accuracy"] = round(result.slot_accuracy, 4)
        overall = score(app, steps, rows)
        figures["route_accuracy"] = round(overall.accuracy, 4)
        figures["rows"] = overall.rows
        decide_times: list[float] = []
        full_times: list[float] = []
        for _ in range(rounds):
            for row in rows:
                step = steps.step(row.state)
                t0 = time.perf_counter()
                decide(row.text, step, steps.know)
                decide_times.append(time.perf_counter() - t0)
            steps._cache.clear()  # built afresh, as the engine does per update
            for row in rows:
                t0 = time.perf_counter()
                step = steps.step(row.state)
                decide(row.text, step, steps.know)
                full_times.append(time.perf_counter() - t0)
                steps._cache.clear()
        figures.update(percentiles(decide_times, "decide"))
        figures.update(percentiles(full_times, "with_step"))
        figures["routed"] = len(decide_times)
        await app.stop()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    figures = asyncio.run(run(args.entries, args.rounds))
    print(f"FAQ entries: {figures['faq_entries']} (loaded in {figures['faq_load_s']} s)")
    for split in ("train", "test"):
        print(
            f"{split:5}: route accuracy {figures[f'{split}_route_accuracy']:.1%}, "
            f"questions into forms {figures[f'{split}_questions_into_forms']:.1%}, "
            f"slot accuracy {figures[f'{split}_slot_accuracy']:.1%}"
        )
    print(f"all {figures['rows']} rows: route accuracy {figures['route_accuracy']:.1%}")
    print(
        f"decide: p50 {figures['decide_p50_ms']} ms, p95 {figures['decide_p95_ms']} ms, "
        f"max {figures['decide_max_ms']} ms ({figures['routed']} routings)"
    )
    print(
        f"with step view: p50 {figures['with_step_p50_ms']} ms, "
        f"p95 {figures['with_step_p95_ms']} ms, max {figures['with_step_max_ms']} ms"
    )
    print(json.dumps({"bench": "router", **figures}))


if __name__ == "__main__":
    main()
