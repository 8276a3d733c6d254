"""The dashboard's figures and the lessons' progress follow every change, wherever it was made.

The figures are kept up to date from the documents that changed (bot/storage/follow.py); these
tests change documents through the services, through records another process would have
written, and at random, and check the figures against a reading of every document.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import random
from collections.abc import Collection
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.core.clock import FakeClock
from bot.services.container import Services, build_services
from bot.services.lesson_standings import LessonCounts
from bot.services.listings import ACTIVE, PAUSED, Listing
from bot.services.orders import CANCELLED, EARNING, STATUSES, OrderRefused
from bot.services.stats import NO_AREA, Figures, Report, build_report, month_of
from bot.services.users import BUYER, FARMER, User
from bot.storage import follow
from bot.storage import table as table_module
from bot.storage.db import Store
from tests.console_helpers import client, person, running, seed, sign_in, team_member
from tests.helpers.driver import Chat
from tests.helpers.msgids import said

HOUSEHOLDS = (
    "Households: {all} · finished the core course: {done} · learning: {doing} · "
    "not started: {idle}"
)


async def test_a_new_farmer_order_and_finished_course_show_at_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        seed(server)
        services = server.app.services
        team_member(server.app, "chi-lang")
        await sign_in(http, server, "telegram:222")
        team = Chat(server.app, "telegram:222", "Tổ CNS")

        async def area_row() -> dict[str, str]:
            url = f"{server.base}/console/dashboard/areas.csv?area=chi-lang"
            async with http.get(url) as response:
                text = (await response.read()).decode("utf-8-sig")
            head, row = list(csv.reader(io.StringIO(text)))
            return dict(zip(head, row, strict=True))

        before = await area_row()
        # (the seed's unconfirmed November order has expired by December)
        assert (before["farmers"], before["trained"], before["orders"]) == ("4", "2", "1")
        await team.say("/tiendo")
        assert said(team.text(), HOUSEHOLDS, all=4, done=2, doing=1, idle=1), team.text()

        newcomer = person(server.app, "web:new", "Nông dân mới", area="chi-lang")
        listing = services.listings.add(
            Listing(farmer_id=newcomer.id, area="chi-lang", product_name="Na", quantity="50",
                    stock="50", price=30000, created_at=clock.now().isoformat())
        )  # fmt: skip
        buyer = services.users.by_key("web:buyer")
        assert buyer is not None
        services.orders.place(
            listing.id, buyer, Decimal(3), name="Khách", phone="+84912000000", address="LS",
            note="", form_id="new-order", now=clock.now(),
        )  # fmt: skip
        for lesson in services.lessons.lessons.core():
            services.lessons.answer(newcomer.id, lesson, lesson.quiz.answer, clock.now())

        after = await area_row()
        assert (after["farmers"], after["trained"], after["orders"]) == ("5", "3", "2")
        assert after["listings_new"] == str(int(before["listings_new"]) + 1)
        await team.say("/tiendo")
        assert said(team.text(), HOUSEHOLDS, all=5, done=3, doing=1, idle=1), team.text()
        assert "Nông dân mới" in team.text()


def _doc(user: User, **changes: Any) -> dict[str, Any]:
    doc = {k: v for k, v in vars(user).items() if k != "id"}
    doc.update(changes)
    return doc


async def test_figures_follow_records_written_by_another_process(tmp_path: Path) -> None:
    clock = FakeClock()
    with Store(tmp_path) as store:
        services = build_services(Settings(data_dir=tmp_path), store, clock)
        stamp = clock.now().isoformat()
        lan = services.users.create("web:lan", "Lan", stamp)
        assert build_report(services).total.farmers == 0
        users = store.table("users")
        # What a process refreshing its tables from the database would apply: a record.
        users.apply("s", {str(lan.id): _doc(lan, registered=True, role=FARMER, area="ky-lua")})
        assert build_report(services, ["ky-lua"]).total.farmers == 1
        progress = services.lessons.area_progress("ky-lua", 10)
        assert (progress.households, progress.idle) == (1, 1)
        users.apply("r", [lan.id])
        assert build_report(services).total.farmers == 0
        assert services.lessons.area_progress("ky-lua", 10).households == 0


async def test_falling_far_behind_reads_everything_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_module, "JOURNAL_MAX", 10)
    clock = FakeClock()
    with Store(tmp_path) as store:
        services = build_services(Settings(data_dir=tmp_path), store, clock)
        assert build_report(services).total.farmers == 0
        for n in range(30):
            user = services.users.create(f"web:{n}", f"N{n}", clock.now().isoformat())
            user.registered, user.role, user.area = True, FARMER, "chi-lang"
            services.users.save(user)
        assert build_report(services).total.farmers == 30
        assert services.tallies.follower.builds == 2
        assert services.lessons.area_progress("chi-lang", 5).idle == 30


class Counting:
    """A view that counts the documents it was given, into a count shared by every copy."""

    def __init__(self, taken: list[int]) -> None:
        self.taken = taken

    def take(self, table: int, doc_id: int, doc: dict[str, Any] | None) -> None:
        self.taken.append(doc_id)

    def settle(self, table: int) -> None:
        pass


async def test_a_look_during_the_warm_up_finishes_it_without_reading_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "CHUNK", 1)  # one document per step
    with Store(tmp_path) as store:
        users = store.table("users")
        users.insert_multiple([{"name": f"N{n}"} for n in range(5)])
        taken: list[int] = []
        follower = follow.Follower([users], lambda: Counting(taken))
        warming = asyncio.create_task(follower.warm())
        await asyncio.sleep(0)  # the warm-up took its first steps
        await asyncio.sleep(0)
        assert not follower.ready and taken
        follower.view()  # a look finishes the reading
        await warming
        assert sorted(taken) == [1, 2, 3, 4, 5]
        assert follower.builds == 1


# --- at random, against a reading of every document ------------------------------------------

AREAS = ("chi-lang", "that-khe", "ky-lua")


def slow_report(services: Services, areas: Collection[str] | None = None) -> Report:
    """The figures the way the dashboard first computed them: every document on each request."""
    report = Report()
    scope = set(areas) if areas is not None else None

    def count(area: str, month: str, name: str, amount: int = 1) -> None:
        if scope is not None and area not in scope:
            return
        rows = [report.by_area.setdefault(area, Figures()), report.total]
        if month:
            rows.append(report.by_month.setdefault(month, Figures()))
        for row in rows:
            setattr(row, name, getattr(row, name) + amount)

    trained = services.lessons.trained_users()
    for user in services.users.all():
        if user.registered and user.role == FARMER:
            count(user.area, month_of(user.created_at), "farmers")
        if user.registered and user.id in trained:
            count(user.area, month_of(trained[user.id]), "trained")
    listings = services.listings.all()
    for listing in listings:
        count(listing.area or NO_AREA, month_of(listing.created_at), "listings_new")
        if listing.status == ACTIVE:
            count(listing.area or NO_AREA, month_of(listing.created_at), "listings_active")
    area_of_listing = {x.id: x.area for x in listings}
    for status in STATUSES:
        for order in services.orders.with_status(status) if status != CANCELLED else []:
            area = area_of_listing.get(order.listing_id)
            if area is None:
                farmer = services.users.get(order.farmer_id) if order.farmer_id else None
                area = farmer.area if farmer else NO_AREA
            count(area, month_of(order.created_at), "orders")
            if status in EARNING:
                count(area, month_of(order.created_at), "revenue", order.total)
    for broadcast in services.broadcasts.with_status("done"):
        sent_to = [a for a in broadcast.audience.get("areas") or [NO_AREA]]
        seen = [a for a in sent_to if scope is None or a in scope]
        if seen:
            for area in seen:
                report.by_area.setdefault(area, Figures()).broadcasts += 1
            report.total.broadcasts += 1
            report.by_month.setdefault(month_of(broadcast.started_at), Figures()).broadcasts += 1
    for area in areas or ():
        report.by_area.setdefault(area, Figures())
    return report


def slow_progress(services: Services, area: str) -> tuple[list[int], list[int], list[int]]:
    """Who finished, who is learning and who has not started, reading every learner."""
    finished, learning, idle = [], [], []
    for user in services.users.in_area(area):
        learner = services.lessons.learner(user.id)
        if user.role != FARMER and not learner.lessons:
            continue
        status = services.lessons.status(user)
        if status.trained_at:
            finished.append((status.trained_at, user.id))
        elif status.updated_at:
            learning.append((status.updated_at, user.id))
        else:
            idle.append(user.id)
    return [u for _k, u in sorted(finished)], [u for _k, u in sorted(learning)], idle


def slow_lesson_counts(services: Services, areas: Collection[str] | None) -> LessonCounts:
    """The console's lessons page the way it first counted: every farmer's learner on each view."""
    out = LessonCounts()
    for user in services.users.all():
        if not (user.registered and user.role == FARMER):
            continue
        if areas is not None and user.area not in areas:
            continue
        learner = services.lessons.learner(user.id)
        out.farmers += 1
        out.trained += learner.trained
        for lesson in services.lessons.lessons.lessons:
            out.started[lesson.id] += learner.of(lesson.id) is not None
            out.done[lesson.id] += learner.is_done(lesson.id)
    return out


def same_counts(kept: LessonCounts, slow: LessonCounts) -> bool:
    """Equal, zero counts or not."""
    return (kept.farmers, kept.trained, +kept.started, +kept.done) == (
        slow.farmers, slow.trained, +slow.started, +slow.done
    )  # fmt: skip


class Province:
    """Random changes, each the way a service (or a deletion) makes it."""

    def __init__(self, services: Services, clock: FakeClock, rng: random.Random) -> None:
        self.services, self.clock, self.rng = services, clock, rng
        self.count = 0

    def _user(self) -> User | None:
        users = self.services.users.all()
        return self.rng.choice(users) if users else None

    def _listing(self) -> Listing | None:
        listings = self.services.listings.all()
        return self.rng.choice(listings) if listings else None

    def step(self) -> None:
        rng, services, now = self.rng, self.services, self.clock.now()
        self.clock.advance(days=rng.choice([0, 1, 9]))
        self.count += 1
        action = rng.randrange(11)
        user = self._user()
        if action <= 1 or user is None:
            new = services.users.create(f"web:{self.count}", f"U{self.count}", now.isoformat())
            new.registered = rng.random() < 0.8
            new.role, new.area = rng.choice([FARMER, FARMER, BUYER]), rng.choice(AREAS)
            services.users.save(new)
        elif action == 2:
            user.area, user.role = rng.choice(AREAS), rng.choice([FARMER, BUYER])
            user.registered = rng.random() < 0.9
            services.users.save(user)
        elif action == 3 and rng.random() < 0.3:
            services.users.delete(user.id)  # listings and orders stay: they count elsewhere
        elif action == 4:
            services.listings.add(
                Listing(farmer_id=user.id, area=user.area, product_name="Na", quantity="500",
                        stock="500", price=1000 * rng.randrange(5, 50),
                        created_at=now.isoformat())
            )  # fmt: skip
        elif action == 5 and (listing := self._listing()) is not None:
            if rng.random() < 0.4:
                services.listings.delete(listing.id)
            else:
                listing.status = rng.choice([ACTIVE, PAUSED])
                listing.area = rng.choice([*AREAS, ""]) if rng.random() < 0.3 else listing.area
                services.listings.save(listing)
        elif action == 6 and (listing := self._listing()) is not None:
            with contextlib.suppress(OrderRefused):  # sold out, paused, her own listing
                services.orders.place(
                    listing.id, user, Decimal(rng.randrange(1, 5)), name="K", phone="+84912000000",
                    address="LS", note="", form_id=f"o{self.count}", now=now,
                )  # fmt: skip
        elif action == 7:
            orders = services.orders.with_status(rng.choice(["new", "confirmed", "shipping"]))
            if orders:
                order = rng.choice(orders)
                move = {
                    "new": services.orders.confirm,
                    "confirmed": lambda i, n: services.orders.ship(i, "", n),
                    "shipping": services.orders.deliver,
                }[order.status]
                with contextlib.suppress(OrderRefused):  # its listing was deleted
                    if rng.random() < 0.3 and order.status != "shipping":
                        services.orders.cancel(order.id, "farmer", "", now)
                    else:
                        move(order.id, now)
        elif action == 8:
            core = services.lessons.lessons.core()
            for lesson in core[: rng.randrange(1, len(core) + 1)]:
                services.lessons.answer(user.id, lesson, lesson.quiz.answer, now)
        elif action == 9:
            lesson = rng.choice(services.lessons.lessons.lessons)
            if rng.random() < 0.2:
                services.lessons.delete(user)
            else:
                services.lessons.move(user.id, lesson, rng.randrange(3), now)
        else:
            self._broadcast(user, now)

    def _broadcast(self, author: User, now: Any) -> None:
        areas = self.rng.sample(AREAS, self.rng.randrange(0, 3))
        table = self.services.store.table("broadcasts")
        table.insert(
            {"author_id": author.id, "audience": {"areas": areas}, "status": "done",
             "started_at": (now - timedelta(hours=8)).isoformat(), "form_id": f"b{self.count}"}
        )  # fmt: skip


@pytest.mark.parametrize("seed_value", [1, 2, 3])
async def test_kept_figures_equal_a_full_reading_after_random_changes(
    tmp_path: Path, seed_value: int
) -> None:
    clock = FakeClock()
    with Store(tmp_path) as store:
        services = build_services(Settings(data_dir=tmp_path), store, clock)
        province = Province(services, clock, random.Random(seed_value))
        for round_no in range(20):
            for _ in range(random.Random(round_no).randrange(1, 30)):
                province.step()
            for scope in (None, ["chi-lang"], ["that-khe", "ky-lua"]):
                assert build_report(services, scope) == slow_report(services, scope), scope
                kept = services.lessons.lesson_counts(scope)
                assert same_counts(kept, slow_lesson_counts(services, scope)), scope
            for area in AREAS:
                progress = services.lessons.area_progress(area, 100)
                finished, learning, idle = slow_progress(services, area)
                assert [s.user.id for s in progress.first_finished] == finished
                assert [s.user.id for s in progress.first_learning] == learning
                assert [s.user.id for s in progress.first_idle] == idle
        assert services.tallies.follower.builds == 1  # kept up to date, never read again
