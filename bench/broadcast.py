"""Broadcast bench: 10,000 recipients through the fake Bot API, the sender SIGKILLed mid-way.

    .venv/bin/python bench/broadcast.py --users 10000 --rate 300

The fake Telegram server runs in this process on 127.0.0.1 and answers 429 (retry_after) to
any message beyond `--rate` a second overall or one a second per chat. The bot (the real
TelegramChannel, engine, store and outbox job) runs as a subprocess on a DATA_DIR seeded with
the recipients and a confirmed broadcast; when `--kill-at` of the recipients have it, the
subprocess is SIGKILLed and a new one started on the same DATA_DIR. Meanwhile a few other
users keep chatting with the bot and the time to each reply is measured.

Prints the achieved delivery rate against the limit (goal >= 95%), duplicates and missed
recipients (goal 0 and 0), reply latency during the broadcast, and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import BotApp
from bot.config import Settings
from bot.services.broadcast import Audience
from bot.services.users import FARMER, TEAM, User
from tests.fakes.telegram_api import FakeTelegram

AUTHOR = 500_000
FIRST_RECIPIENT = 1_000_000
FIRST_CHATTER = 900_000
STAMP = "2026-11-26T08:00:00+00:00"


def settings_for(data_dir: Path, token: str, api: str, rate: float) -> Settings:
    """The child bot's settings: the fake's URL and the bench's rate limit."""
    return replace(
        Settings(data_dir=data_dir, web_port=0),
        telegram_token=token,
        telegram_api_base_url=api,
        telegram_max_rate=rate,
        log_level="WARNING",
    )


def _user(key: str, name: str, area: str, **extra: Any) -> dict[str, Any]:
    user = User(name=name, ident=[key], last_channel=key, created_at=STAMP, area=area)
    user.registered, user.consent, user.role = True, True, FARMER
    for field, value in extra.items():
        setattr(user, field, value)
    doc = asdict(user)
    doc.pop("id")
    return doc


def seed(data_dir: Path, settings: Settings, users: int, chatters: int) -> int:
    """Recipients, chatters (another commune) and a confirmed broadcast; return its id."""
    app = BotApp(settings)
    try:
        table = app.store.table("users")
        docs = [
            _user(
                f"telegram:{AUTHOR}", "Tổ viên", "chi-lang", roles=[TEAM], team_areas=["chi-lang"]
            )
        ]
        docs += [
            _user(f"telegram:{FIRST_RECIPIENT + i}", f"Nông dân {i}", "chi-lang")
            for i in range(users)
        ]
        docs += [
            _user(f"telegram:{FIRST_CHATTER + i}", f"Người hỏi {i}", "bac-son")
            for i in range(chatters)
        ]
        table.insert_multiple(docs)
        services = app.services
        author = services.users.by_key(f"telegram:{AUTHOR}")
        assert author is not None
        now = services.clock.now()
        text = "Tối nay 19:00 tập huấn livestream bán na tại nhà văn hoá thôn. Bà con nhớ đến!"
        made = services.broadcasts.create(
            author, text, "", Audience(areas=["chi-lang"]), now, now, "bench"
        )
        total = services.outbox.start(made, now)
        assert total == users, total
        return made.id
    finally:
        app.store.close()


# --- the child: one bot process --------------------------------------------------------------


async def child_main(data_dir: Path, token: str, api: str, rate: float) -> None:
    """Run the bot (Telegram long polling + jobs) until SIGTERM."""
    from bot.channels.telegram import TelegramChannel

    settings = settings_for(data_dir, token, api, rate)
    app = BotApp(settings)
    channel = TelegramChannel(settings, app.engine)
    await channel.start()
    app.on_stop(channel.stop)
    app.start_jobs()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await app.stop()


# --- the parent: fake Telegram, measurements ---------------------------------------------------


class Bench:
    """Drives the run and keeps the figures."""

    def __init__(self, args: argparse.Namespace, fake: FakeTelegram, data_dir: Path) -> None:
        self.args = args
        self.fake = fake
        self.data_dir = data_dir
        self.recipients = set(range(FIRST_RECIPIENT, FIRST_RECIPIENT + args.users))
        self.deliveries: list[float] = []  # when each broadcast message was accepted
        self.all_sends: list[float] = []  # every message the bot sent (replies too)
        self.latencies: list[tuple[float, float]] = []  # (asked at, seconds to the reply)
        self.child: subprocess.Popen[bytes] | None = None
        self.log = (data_dir.parent / "child.log").open("ab")
        original = fake.api.call

        def counting_call(method: str, params: dict[str, Any], files: Any) -> Any:
            result = original(method, params, files)
            if method.startswith("send") and method != "sendChatAction":
                self.all_sends.append(time.monotonic())
            if method == "sendMessage" and params.get("chat_id") in self.recipients:
                self.deliveries.append(time.monotonic())
            return result

        fake.api.call = counting_call  # type: ignore[method-assign]

    def start_child(self) -> None:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--data-dir",
            str(self.data_dir),
            "--api",
            self.fake.base_url,
            "--token",
            self.fake.token,
            "--rate",
            str(self.args.rate),
        ]
        self.child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)

    async def chat(self, stop: asyncio.Event) -> None:
        """Other users keep talking to the bot; time each reply."""
        users = [FIRST_CHATTER + i for i in range(self.args.chatters)]
        if not users:
            return
        turn = 0
        while not stop.is_set():
            user = users[turn % len(users)]
            turn += 1
            before = len(self.fake.world.bot_sent.get(user, []))
            started = time.monotonic()
            self.fake.send_text(user, "/menu")
            while len(self.fake.world.bot_sent.get(user, [])) <= before:
                if stop.is_set() or time.monotonic() - started > 30:
                    break
                await asyncio.sleep(0.003)
            else:
                self.latencies.append((started, time.monotonic() - started))
            await asyncio.sleep(self.args.chat_every)

    def delivered_chats(self) -> int:
        sent = self.fake.world.bot_sent
        return sum(1 for chat in self.recipients if sent.get(chat))

    async def run(self) -> dict[str, Any]:
        args = self.args
        self.start_child()
        stop_chat = asyncio.Event()
        chatter = asyncio.create_task(self.chat(stop_chat))
        started = time.monotonic()
        kill_at = int(args.users * args.kill_at)
        killed_at = restarted_first = 0.0
        while len(self.deliveries) < kill_at:
            await asyncio.sleep(0.01)  # light polling: this process is also the Bot API
        assert self.child is not None
        self.child.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        delivered_at_kill = len(self.deliveries)
        await asyncio.to_thread(self.child.wait)
        self.start_child()
        while len(self.deliveries) <= delivered_at_kill and time.monotonic() - killed_at < 60:
            await asyncio.sleep(0.005)
        restarted_first = time.monotonic()
        deadline = time.monotonic() + args.users / args.rate * 3 + 60
        while self.delivered_chats() < args.users and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
        await asyncio.sleep(2.0)  # let any late duplicate arrive
        stop_chat.set()
        await chatter
        self.child.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.child.wait)
        return self.figures(started, killed_at, restarted_first)

    def figures(self, started: float, killed_at: float, restarted: float) -> dict[str, Any]:
        args = self.args
        sent = self.fake.world.bot_sent
        counts = [len(sent.get(chat, [])) for chat in self.recipients]
        first, last = self.deliveries[0], self.deliveries[-1]
        span = last - first
        gap = restarted - killed_at
        # Deliveries in the second before the kill and after the restart are the sender's own
        # pace; the gap in between is process start-up, reported on its own.
        rate_all = (len(self.deliveries) - 1) / span
        total = sum(1 for t in self.all_sends if first <= t <= last) - 1
        rate_total = total / max(span - gap, 1e-9)
        rate_running = (len(self.deliveries) - 1) / max(span - gap, 1e-9)
        # A question asked while no bot process ran waits for the restart: counted apart.
        lat = sorted(d for t, d in self.latencies if t + d < killed_at or t > restarted)
        waited = [d for t, d in self.latencies if not (t + d < killed_at or t > restarted)]
        log_text = (self.data_dir.parent / "child.log").read_text(errors="replace")
        # The restarted sender logs each batch of rows it took over from the killed one.
        resent = sum(int(n) for n in re.findall(r"took over (\d+) broadcast row", log_text))
        return {
            "recipients": args.users,
            "limit_per_s": args.rate,
            "achieved_per_s": round(rate_all, 2),
            "ratio_to_limit": round(rate_all / args.rate, 4),
            "achieved_per_s_while_running": round(rate_running, 2),
            "ratio_to_limit_while_running": round(rate_running / args.rate, 4),
            "all_messages_per_s_while_running": round(rate_total, 2),
            "all_messages_ratio_while_running": round(rate_total / args.rate, 4),
            "restart_gap_s": round(gap, 3),
            "wall_s": round(time.monotonic() - started, 2),
            "delivered": sum(1 for c in counts if c),
            "duplicates": sum(c - 1 for c in counts if c > 1),
            "missed": sum(1 for c in counts if c == 0),
            "rows_in_flight_at_kill": resent,
            "throttled_429": self.fake.throttled,
            "violations": len(self.fake.violations),
            "reply_samples": len(lat),
            "reply_p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
            "reply_p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 1) if lat else None,
            "reply_max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "replies_across_restart": len(waited),
            "reply_across_restart_max_ms": round(max(waited) * 1000, 1) if waited else None,
        }


async def parent_main(args: argparse.Namespace) -> dict[str, Any]:
    """Start the fake, seed the data, run the bench."""
    root = Path(tempfile.mkdtemp(prefix="ndsbench-broadcast-"))
    data_dir = root / "data"
    try:
        async with FakeTelegram(idle_quiet=0.05) as fake:
            fake.limit_rate(args.rate, per_chat_per_second=1)
            settings = settings_for(data_dir, fake.token, fake.base_url, args.rate)
            seed(data_dir, settings, args.users, args.chatters)
            return await Bench(args, fake, data_dir).run()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"data kept in {root}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="the fake's limit, msg/s")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share delivered at SIGKILL")
    parser.add_argument("--chatters", type=int, default=2)
    parser.add_argument("--chat-every", type=float, default=1.0, help="pause after each reply")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child_main(args.data_dir, args.token, args.api, args.rate))
        return 0
    figures = asyncio.run(parent_main(args))
    print(
        f"recipients {figures['recipients']}, limit {args.rate:g} msg/s\n"
        f"achieved {figures['achieved_per_s']} msg/s = {figures['ratio_to_limit']:.1%} of the "
        f"limit over the whole run ({figures['ratio_to_limit_while_running']:.1%} excluding "
        f"the {figures['restart_gap_s']} s restart gap); with conversation replies "
        f"{figures['all_messages_ratio_while_running']:.1%}\n"
        f"delivered {figures['delivered']}, duplicates {figures['duplicates']}, "
        f"missed {figures['missed']}, 429s served {figures['throttled_429']}\n"
        f"conversation replies during the broadcast: p50 {figures['reply_p50_ms']} ms, "
        f"p95 {figures['reply_p95_ms']} ms, max {figures['reply_max_ms']} ms "
        f"({figures['reply_samples']} replies; {figures['replies_across_restart']} more waited for "
        f"the restart, up to {figures['reply_across_restart_max_ms']} ms)"
    )
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
