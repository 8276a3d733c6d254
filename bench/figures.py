"""Figures bench: the console dashboard and a team's area progress at province scale.

    .venv/bin/python bench/figures.py                  # 20,000 and 230,000 users
    .venv/bin/python bench/figures.py --sizes 20000 --rounds 3
    .venv/bin/python bench/figures.py --backend postgresql   # the same on PostgreSQL

With --backend postgresql the built store is copied (`store migrate --to`) into a throwaway
PostgreSQL cluster (tests/helpers/pg_cluster.py) and the bot runs on that database instead.

For each size it builds a store of realistic documents in a temporary directory (users 7 in 10
farmers, half as many listings as users, one and a half orders per user, lesson progress for
most farmers, a few hundred broadcasts), compacts it as a long-running bot would have, starts
the whole bot on it (web server on loopback, FakeClock), signs an admin and a team member into
the console, then times, per request:

- the dashboard page over HTTP as the admin (every area) and as the team member (one area);
- the area progress a team member reads in chat (`/tiendo`), for the team's area;
- the console's lessons page (completion per lesson) as the team member;

on the first request (the bot just started: the background warm-up may still be reading the
documents, or the request reads them itself), in steady state (median of --rounds, once the
warm-up is done), and on the first request after each single change made through the services:
a farmer registers, an order is placed, a farmer finishes the core lessons; each time as
[wall ms, CPU ms] (the machine may be shared: CPU time is what the request cost this process).
It checks that each change shows in the figures, and times a cold build of both views (what a
request pays if it comes before the background warm-up has read every document). Ends with
one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import store_data as data
from bench.migrate import run as migrate_cli
from bench.store import rss_mb
from bot.app import BotApp
from bot.config import Settings
from bot.core.clock import FakeClock
from bot.core.flow import Ctx
from bot.core.types import Incoming
from bot.i18n import use_locale
from bot.server import start
from bot.services.container import CONTENT_DIR, Services
from bot.services.lesson_content import load_lessons
from bot.services.lesson_standings import Standings
from bot.services.stats import build_report
from bot.services.tallies import Tallies
from bot.services.users import ADMIN, BUYER, FARMER, TEAM, User
from bot.storage.db import Store
from bot.storage.follow import Follower
from handlers import lessons_team
from tests.helpers.pg_cluster import PgCluster

CHUNK = 5000
AREA = "chi-lang"  # the team member's area (one of the bench's 34)
ADMIN_KEY, TEAM_KEY = "web:bench-admin", "web:bench-team"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
HOUSEHOLDS = re.compile(r"(\d+)")


# --- building ----------------------------------------------------------------------------


def learner(rng: random.Random, user_id: int, core: list[str], extra: list[str]) -> dict[str, Any]:
    """Lesson progress: a third trained, the rest part way through the core lessons."""
    trained = rng.random() < 0.35
    done = core if trained else core[: rng.randrange(0, len(core))]
    lessons: dict[str, Any] = {}
    for lesson_id in done:
        at = data.stamp(rng)
        lessons[lesson_id] = {
            "step": 4,
            "done": True,
            "attempts": rng.randrange(1, 3),
            "started_at": at,
            "updated_at": at,
            "completed_at": at,
        }
    current = ""
    if not trained:
        current = (core + extra)[len(done)]
        at = data.stamp(rng)
        lessons[current] = {
            "step": rng.randrange(0, 4),
            "done": False,
            "attempts": 0,
            "started_at": at,
            "updated_at": at,
            "completed_at": "",
        }
    return {
        "user_id": user_id,
        "lessons": lessons,
        "current": current,
        "trained": trained,
        "trained_at": max(e["completed_at"] for e in lessons.values()) if trained else "",
    }


def broadcast(rng: random.Random, author: int) -> dict[str, Any]:
    """A finished broadcast to one to three areas, or to the whole province."""
    areas = rng.sample(data.AREAS, rng.randrange(1, 4)) if rng.random() < 0.8 else []
    at = data.stamp(rng)
    return {
        "author_id": author,
        "text": "Họp thôn về giá na vụ này",
        "photo": "",
        "audience": {"areas": areas, "crops": [], "roles": [], "trained": None},
        "status": "done",
        "send_at": at,
        "created_at": at,
        "started_at": at,
        "finished_at": at,
        "form_id": f"b{rng.getrandbits(48):x}",
    }


def build(directory: Path, users: int) -> dict[str, int]:
    """A store of `users` users and their listings, orders, lesson progress and broadcasts."""
    rng = random.Random(users)
    lessons = load_lessons(CONTENT_DIR / "lessons").lessons
    core = [x.id for x in lessons if x.core]
    extra = [x.id for x in lessons if not x.core] or core
    with Store(directory) as store:
        people = [data.user(rng, n) for n in range(users)]
        for person in people:
            person["created_at"] += "+00:00"
        farmers = [i + 1 for i, u in enumerate(people) if u["role"] == FARMER]
        buyers = [i + 1 for i, u in enumerate(people) if u["role"] == BUYER]
        insert(store, "users", people)
        listings = []
        for _ in range(users // 2):
            farmer = rng.choice(farmers)
            listings.append(data.listing(rng, farmer, people[farmer - 1]["area"]))
        insert(store, "listings", listings)
        orders = []
        for n in range(users * 3 // 2):
            listing_id = rng.randrange(1, len(listings) + 1)
            bought = listings[listing_id - 1]
            order = data.order(
                rng, n, listing_id, bought["farmer_id"], rng.choice(buyers), bought["price"]
            )
            order["status"] = rng.choices(["new", "confirmed", "shipped", "done", "cancelled"],
                                          [1, 2, 1, 5, 1])[0]  # fmt: skip
            order["created_at"] = f"{order['day']}T0{rng.randrange(10)}:00:00+00:00"
            order["code"] += f"-{n}"  # order codes are unique (PostgreSQL enforces it)
            orders.append(order)
        insert(store, "orders", orders)
        progress = [learner(rng, f, core, extra) for f in farmers if rng.random() < 0.6]
        insert(store, "lesson_progress", progress)
        insert(store, "broadcasts", [broadcast(rng, 1) for _ in range(300)])
        store.compact()
    return {
        "users": users,
        "listings": len(listings),
        "orders": len(orders),
        "learners": len(progress),
        "broadcasts": 300,
    }


def insert(store: Store, name: str, docs: list[dict[str, Any]]) -> None:
    """Bulk-load a table in durable chunks."""
    table = store.table(name)
    for start_at in range(0, len(docs), CHUNK):
        table.insert_multiple(docs[start_at : start_at + CHUNK])


# --- the bot and its console -------------------------------------------------------------


def person(app: BotApp, key: str, name: str, role: str, roles: list[str], area: str) -> User:
    """A registered user stored directly."""
    users = app.services.users
    user = users.by_key(key) or users.create(key, name, app.services.clock.now().isoformat())
    user.registered, user.role, user.area = True, role, area
    user.roles, user.team_areas = roles, [area] if TEAM in roles else []
    users.save(user)
    return user


async def sign_in(http: aiohttp.ClientSession, base: str, app: BotApp, key: str) -> None:
    """Open a one-time console link and press Sign in, as a browser would."""
    token = app.services.console_links.issue(key)
    async with http.get(f"{base}/console/login/{token}") as page:
        found = CSRF.search(await page.text())
    assert found, "no sign-in form"
    async with http.post(
        f"{base}/console/login", data={"token": token, "csrf": found.group(1)}
    ) as done:
        assert done.status == 200, done.status


def client() -> aiohttp.ClientSession:
    """An HTTP client that keeps its cookies for 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


class Timing:
    """Wall-clock and CPU milliseconds of one request (this machine is shared: CPU time is
    what the request itself cost, wall time adds waiting for the other processes)."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def ms(self) -> list[float]:
        """[wall ms, CPU ms] since this timing started."""
        return [
            round((time.perf_counter() - self.wall) * 1000, 1),
            round((time.process_time() - self.cpu) * 1000, 1),
        ]


async def timed(request: Callable[[], Awaitable[Any]]) -> list[float]:
    """[wall ms, CPU ms] of one request."""
    timing = Timing()
    await request()
    return timing.ms()


def median(samples: list[list[float]]) -> list[float]:
    """The median wall and CPU times of several requests."""
    return [statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)]


async def measure(directory: Path, rounds: int, database_url: str = "") -> dict[str, Any]:
    """Start the bot on a built store (or the database it was copied into) and time the
    three requests."""
    clock = FakeClock()
    settings = Settings(data_dir=directory, web_port=0, database_url=database_url)
    settings = replace(settings, log_level="WARNING")
    app, runner = await start(settings, clock)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    services = app.services
    try:
        person(app, ADMIN_KEY, "Quản trị", BUYER, [ADMIN], AREA)
        team = person(app, TEAM_KEY, "Tổ CNS Chi Lăng", BUYER, [TEAM], AREA)
        async with client() as admin_http, client() as team_http:
            await sign_in(admin_http, base, app, ADMIN_KEY)
            await sign_in(team_http, base, app, TEAM_KEY)

            async def page(http: aiohttp.ClientSession, path: str = "/console/dashboard") -> str:
                async with http.get(base + path) as response:
                    assert response.status == 200, response.status
                    return await response.text()

            async def progress() -> str:
                ctx = Ctx(
                    user=team,
                    data={},
                    services=services,
                    msg=Incoming("web", TEAM_KEY, "text", text="/tiendo"),
                    now=clock.now(),
                    form_id="bench",
                )
                with use_locale("vi"):
                    return "\n".join(r.text for r in lessons_team.report(ctx, AREA))

            requests: dict[str, Callable[[], Awaitable[Any]]] = {
                "dashboard_admin": lambda: page(admin_http),
                "dashboard_team": lambda: page(team_http),
                "area_progress": progress,
                "lessons_page_team": lambda: page(team_http, "/console/lessons"),
            }
            figures: dict[str, Any] = {
                "ready_at_first_request": {
                    "dashboard": services.tallies.follower.ready,
                    "lessons": services.lessons.standings.ready,
                }
            }
            for name, request in requests.items():
                figures[name] = {"first": await timed(request)}
            warm = Timing()
            while not (services.tallies.follower.ready and services.lessons.standings.ready):
                await asyncio.sleep(0.05)
            figures["warm_up_left_after_first_requests"] = warm.ms()
            for name, request in requests.items():
                figures[name]["steady"] = median([await timed(request) for _ in range(rounds)])
            seen = {}
            for change, do in changes(app, clock).items():
                before = build_report(services, [AREA]).by_area[AREA]
                lesson_before = await progress()
                do()
                for name, request in requests.items():
                    figures[name][f"after_{change}"] = await timed(request)
                after = build_report(services, [AREA]).by_area[AREA]
                seen[change] = (before != after) and (
                    change == "order" or lesson_before != await progress()
                )
            figures["changes_seen"] = seen
            figures["cold_build_ms"] = cold_builds(services)
    finally:
        await app.stop()
    return figures


def cold_builds(services: Services) -> dict[str, list[float]]:
    """What reading every document costs (a request before the warm-up finished) and the
    memory both views hold (the growth of this process while building a second copy)."""
    tallies = Tallies(services.store)
    standings = Follower(services.lessons.standings.tables, Standings)
    rss = rss_mb()
    timing = Timing()
    tallies.current()
    dashboard = timing.ms()
    timing = Timing()
    standings.view()
    return {
        "dashboard": dashboard,
        "lessons": timing.ms(),
        "both_views_rss_mb": [round(rss_mb() - rss, 1)],
    }


def changes(app: BotApp, clock: FakeClock) -> dict[str, Callable[[], None]]:
    """Single changes made through the services, each in the team's area."""
    services = app.services

    def farmer() -> None:
        person(app, "web:bench-new-farmer", "Nông Văn Mới", FARMER, [], AREA)

    def order() -> None:
        listing = next(
            x
            for user in services.users.in_area(AREA)
            for x in services.listings.of_farmer(user.id)
            if x.status == "active"
        )
        buyer = services.users.by_key(ADMIN_KEY)
        assert buyer is not None
        services.orders.place(
            listing.id,
            buyer,
            Decimal(1),
            name="Khách",
            phone="+84912000000",
            address="Chi Lăng",
            note="",
            form_id="bench-order",
            now=clock.now(),
        )

    def lesson() -> None:
        user = services.users.by_key("web:bench-new-farmer")
        assert user is not None
        for core in services.lessons.lessons.core():
            services.lessons.answer(user.id, core, core.quiz.answer, clock.now())

    return {"farmer": farmer, "order": order, "lesson": lesson}


def copied(directory: Path, cluster: PgCluster) -> str:
    """Copy the built store into a new database of the cluster; its URL."""
    url = cluster.create_database()[1]
    started = time.perf_counter()
    code, _seconds, out = migrate_cli("store", "migrate", "--to", url,
                                      env={"DATA_DIR": str(directory), "DATABASE_URL": ""})  # fmt: skip
    if code != 0:
        raise SystemExit(f"store migrate failed:\n{out}")
    print(f"copied into PostgreSQL in {time.perf_counter() - started:.1f} s", flush=True)
    return url


def main() -> None:
    """Build each size, measure, print the figures and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,230000", help="users, comma-separated")
    parser.add_argument("--rounds", type=int, default=5, help="steady-state requests")
    parser.add_argument("--backend", choices=("embedded", "postgresql"), default="embedded")
    args = parser.parse_args()
    results: dict[str, Any] = {"backend": args.backend}
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="ndsfigures") as tmp:
            started = time.perf_counter()
            counts = build(Path(tmp), size)
            print(f"built {counts} in {time.perf_counter() - started:.1f} s", flush=True)
            if args.backend == "embedded":
                figures = asyncio.run(measure(Path(tmp), args.rounds))
            else:
                with PgCluster() as cluster:
                    url = copied(Path(tmp), cluster)
                    figures = asyncio.run(measure(Path(tmp) / "pgdata", args.rounds, url))
        for name, values in figures.items():
            print(f"{size} users  {name}: {values}", flush=True)
        results[str(size)] = {"store": counts, **figures}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
