"""Two processes on one PostgreSQL database: what one records shows in the other's figures.

Each process keeps its own dashboard tallies and lesson standings, following its in-memory
tables; the other process's commits reach those tables through the database's change feed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.clock import FakeClock
from bot.services.listings import Listing
from bot.services.stats import build_report
from bot.services.users import BUYER
from tests.console_helpers import person
from tests.helpers.pg_apps import PgApps, pg_apps
from tests.helpers.waiting import wait_until

__all__ = ["pg_apps"]

pytestmark = pytest.mark.pg

SOON = 2.0  # seconds: another process's change is in its figures within this (issue 20)


async def test_a_farmer_order_and_course_recorded_by_one_process_count_in_the_other(
    pg_apps: PgApps, clock: FakeClock
) -> None:
    first, second = await pg_apps.open(), await pg_apps.open()
    figures = second.services
    assert build_report(figures, ["chi-lang"]).by_area["chi-lang"].farmers == 0
    assert figures.lessons.area_progress("chi-lang", 5).households == 0

    services = first.services
    with first.store.deferred_sync():
        farmer = person(first, "web:lan", "Lan")
        buyer = person(first, "web:khach", "Khách", role=BUYER)
        listing = services.listings.add(
            Listing(farmer_id=farmer.id, area="chi-lang", product_name="Na", quantity="50",
                    stock="50", price=30000, created_at=clock.now().isoformat())
        )  # fmt: skip
        services.orders.place(
            listing.id, buyer, Decimal(2), name="Khách", phone="+84912000000", address="LS",
            note="", form_id="pg-order", now=clock.now(),
        )  # fmt: skip
        for lesson in services.lessons.lessons.core():
            services.lessons.answer(farmer.id, lesson, lesson.quiz.answer, clock.now())
        await first.store.flush()

    def counted() -> bool:
        row = build_report(figures, ["chi-lang"]).by_area["chi-lang"]
        return (row.farmers, row.trained, row.listings_new, row.orders) == (1, 1, 1, 1)

    await wait_until(counted, "the other process's figures", SOON)
    progress = figures.lessons.area_progress("chi-lang", 5)
    assert [s.user.id for s in progress.first_finished] == [farmer.id]
    assert figures.lessons.lesson_counts(["chi-lang"]).trained == 1
