"""Conversation throughput: simulated users on real python-telegram-bot against a fake Bot API.

Many users at once go through onboarding, the menu and a whole listing, on the full bot with a
province-sized store loaded; the same steps for as many other users hit a bare
python-telegram-bot echo bot on the same fake server code, the ceiling of the stack. Both run in
this one process; rounds alternate between them (the machine is shared, so its load drifts).
Prints updates/s, reply latency and CPU per update for both, the ratio, and one JSON line of
every figure.

    .venv/bin/python bench/conversation.py --users 200 --concurrency 50 --store /tmp/ndsbench

`--store DIR` copies a store built by bench/store.py (100k users, 100k listings, 300k orders)
into a temp DATA_DIR first; without it the bot starts on an empty store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import ContextTypes, TypeHandler  # noqa: E402

from bot.app import tune_gc  # noqa: E402
from bot.core.clock import Clock  # noqa: E402
from bot.i18n import load_catalogs  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.helpers.telegram import TelegramBot  # noqa: E402

Step = tuple[str, str]  # ("text" | "tap" | "contact", value)

SCRIPT: list[Step] = [
    ("text", "/start"),
    ("tap", "name:keep"),
    ("tap", "addr:chi"),
    ("contact", "+84912345678"),
    ("text", "chi lang"),
    ("tap", "farmer"),
    ("tap", "crop:na-chi-lang"),
    ("tap", "crop:done"),
    ("tap", "consent:yes"),
    ("text", "ho so"),
    ("tap", "back"),
    ("tap", "listings"),
    ("text", "na chi lang"),
    ("tap", "lf:skip"),
    ("text", "200"),
    ("text", "45k"),
    ("tap", "lf:now"),
    ("tap", "lf:skip"),
    ("tap", "lf:c:ocop4"),
    ("tap", "lf:c:done"),
    ("tap", "lf:skip"),
    ("tap", "lf:skip"),
    ("tap", "lf:ok"),
]


FORM_START: Step = ("tap", "listings")  # the listing form runs from here to the script's end


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0–100) of samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def drive(
    fake: FakeTelegram, users: list[int], concurrency: int, script: list[Step]
) -> dict[str, Any]:
    """Run the script for every user, `concurrency` users at a time; time each reply."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    form_messages: list[int] = []  # messages sent to a user while filling the listing form
    form_edits: list[int] = []
    form_start = next((i for i, step in enumerate(script) if step == FORM_START), len(script))

    async def one(user: int) -> None:
        async with gate:
            at_form = (0, 0)
            for n, (kind, value) in enumerate(script):
                if n == form_start:
                    at_form = (fake.sends(user), len(fake.edits(user)))
                before = (fake.sends(user), len(fake.edits(user)))
                started = time.perf_counter()
                if kind == "text":
                    fake.send_text(user, value, first_name="Lan")
                elif kind == "contact":
                    fake.send_contact(user, value)
                else:
                    fake.send_callback(user, value, check=False)
                # A new message, or an edit in place (a toggle redraws its own message).
                deadline = started + 60
                while (fake.sends(user), len(fake.edits(user))) == before:
                    if time.perf_counter() > deadline:
                        raise AssertionError(f"no answer to {value!r} for user {user}")
                    await asyncio.sleep(0.005)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)  # let the rest of a multi-message reply arrive
            if form_start < len(script):
                form_messages.append(fake.sends(user) - at_form[0])
                form_edits.append(len(fake.edits(user)) - at_form[1])

    started, cpu_started = time.perf_counter(), time.process_time()
    with gc_timer() as gc_seconds:
        await asyncio.gather(*(one(u) for u in users))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    handled = len(users) * len(script)
    pauses = len(script) * 0.05 * len(users) / concurrency
    return {
        "updates": handled,
        "seconds": round(elapsed, 2),
        "updates_per_s": round(handled / max(elapsed - pauses, 1e-9), 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        # The whole process (fake server and simulated users included): steadier than wall time.
        "cpu_ms_per_update": round(cpu / handled * 1000, 2),
        "gc_s": round(gc_seconds[0], 2),  # time in garbage collections during the round
        # New messages a farmer receives for one whole listing form (fewer on a weak line).
        "messages_per_form": statistics.median(form_messages) if form_messages else 0,
        "edits_per_form": statistics.median(form_edits) if form_edits else 0,
    }


@contextlib.contextmanager
def gc_timer() -> Iterator[list[float]]:
    """Add up the time the garbage collector runs inside the block (in the yielded list)."""
    total = [0.0]
    began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            total[0] += time.perf_counter() - began[0]

    gc.callbacks.append(on_gc)
    try:
        yield total
    finally:
        gc.callbacks.remove(on_gc)


@contextlib.asynccontextmanager
async def full_bot(data_dir: Path) -> AsyncIterator[tuple[FakeTelegram, float]]:
    """The whole bot (engine, store, flows) on its own fake server; yields it and open time."""
    async with FakeTelegram() as fake:
        bot = TelegramBot(fake, data_dir, Clock(), telegram_max_rate=1_000_000)  # type: ignore[arg-type]
        opened = time.perf_counter()
        await bot.start()
        try:
            yield fake, time.perf_counter() - opened
        finally:
            await bot.stop()


@contextlib.asynccontextmanager
async def echo_bot() -> AsyncIterator[FakeTelegram]:
    """A bare python-telegram-bot that answers every update with one message."""
    async with FakeTelegram() as fake:
        app = fake.app_builder().concurrent_updates(64).build()

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if update.callback_query is not None:
                await update.callback_query.answer()
            chat = update.effective_chat
            if chat is not None:
                await context.bot.send_message(chat.id, "ok")

        app.add_handler(TypeHandler(Update, echo))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, allowed_updates=Update.ALL_TYPES)
        try:
            yield fake
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


async def run_rounds(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Both bots up at once; rounds alternate between them, each with new users.

    Alternating spreads the machine's ups and downs over both sides; medians are reported.
    """
    rounds: dict[str, list[dict[str, Any]]] = {"bot": [], "echo": []}
    async with full_bot(data_dir) as (bot_fake, open_s), echo_bot() as echo_fake:
        for n in range(args.rounds):
            for name, fake, base in (
                ("bot", bot_fake, 900_000_000),
                ("echo", echo_fake, 800_000_000),
            ):
                users = [base + n * args.users + i for i in range(args.users)]
                calls = len(fake.calls)
                result = await drive(fake, users, args.concurrency, SCRIPT)
                result["api_calls_per_update"] = round(
                    (len(fake.calls) - calls) / result["updates"], 2
                )
                rounds[name].append(result)
                print(
                    f"  round {n + 1} {name:4}: {result['updates_per_s']:>6} updates/s"
                    f"   CPU {result['cpu_ms_per_update']} ms/update   GC {result['gc_s']} s",
                    flush=True,
                )
        violations = len(bot_fake.violations)
    out = {name: median_round(results) for name, results in rounds.items()}
    out["bot"].update(open_s=round(open_s, 2), violations=violations)
    out["ratios"] = [
        round(b["updates_per_s"] / e["updates_per_s"], 3)
        for b, e in zip(rounds["bot"], rounds["echo"], strict=True)
    ]
    return out


def median_round(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds (updates summed; an even count's mean of the two
    middle ones rounded to 3 places, not 1.7999999999999998)."""
    out = {
        k: round(statistics.median(r[k] for r in results), 3) for k in results[0] if k != "updates"
    }
    out["updates"] = sum(r["updates"] for r in results)
    return out


def main() -> None:
    """Run both, print the comparison and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--store", type=Path, help="a store dir built by bench/store.py")
    args = parser.parse_args()
    load_catalogs()
    tune_gc()  # the bot process's own GC settings (python -m bot sets them the same way)
    work = Path(tempfile.mkdtemp(prefix="nds-conv-"))
    data_dir = work / "data"
    try:
        if args.store is not None:
            source = args.store / "store" if (args.store / "store").is_dir() else args.store
            shutil.copytree(source, data_dir, ignore=shutil.ignore_patterns(".lock"))
        result = asyncio.run(run_rounds(args, data_dir))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bot, echo = result["bot"], result["echo"]
    ratio = bot["updates_per_s"] / echo["updates_per_s"] if echo["updates_per_s"] else 0.0
    print(
        f"{args.rounds} rounds of {args.users} users each side, {len(SCRIPT)} steps each,"
        f" {args.concurrency} at a time; medians over the rounds"
    )
    print(f"store: {args.store or 'empty'} (opened in {bot['open_s']} s)")
    for name, r in (("bot ", bot), ("echo", echo)):
        print(
            f"{name}: {r['updates_per_s']:>7} updates/s   reply p50 {r['p50_ms']} ms"
            f"   p95 {r['p95_ms']} ms   CPU {r['cpu_ms_per_update']} ms/update"
            f"   ({r['updates']} updates,"
            f" {r['api_calls_per_update']} Bot API calls per update)"
        )
    print(
        f"listing form ({len(SCRIPT) - SCRIPT.index(FORM_START)} steps): "
        f"{bot['messages_per_form']} new messages, {bot['edits_per_form']} edits in place"
    )
    print(
        f"bot / echo throughput: {ratio:.0%} (goal >= 70%; per round {result['ratios']})"
        f"   Bot API violations: {bot['violations']}"
    )
    print(json.dumps({"bench": "conversation", "users": args.users, "concurrency": args.concurrency,
                      "rounds": args.rounds, "store": str(args.store or ""), "bot": bot,
                      "echo": echo, "ratio": round(ratio, 3), "ratios": result["ratios"]}))  # fmt: skip


if __name__ == "__main__":
    main()
