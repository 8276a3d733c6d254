"""The figures behind the dashboard: months in Vietnam time, scopes, multi-area broadcasts."""

from __future__ import annotations

from pathlib import Path

from bot.core.clock import FakeClock
from bot.services.broadcast import Audience
from bot.services.stats import build_report, month_of
from tests.console_helpers import person, running, seed


def test_month_is_the_farmers_month() -> None:
    assert month_of("2026-11-30T17:30:00+00:00") == "2026-12"  # 00:30 on 1 Dec in Vietnam
    assert month_of("2026-11-30T16:59:00+00:00") == "2026-11"
    assert month_of("2026-11-30T17:30:00") == "2026-12"  # no zone: stored as UTC
    assert month_of("") == "" and month_of("not a date") == ""


async def test_scope_limits_every_figure(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server:
        seed(server)
        services = server.app.services
        everything = build_report(services)
        mine = build_report(services, ["chi-lang"])
        assert set(mine.by_area) == {"chi-lang"}
        assert mine.by_area["chi-lang"] == everything.by_area["chi-lang"]
        assert mine.total.farmers == 4 and everything.total.farmers == 8
        assert mine.total.revenue == everything.by_area["chi-lang"].revenue
        empty = build_report(services, ["ky-lua"])
        assert empty.by_area["ky-lua"].farmers == 0 and empty.total.orders == 0


async def test_a_broadcast_to_two_areas_counts_once_in_the_total(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server:
        services = server.app.services
        author = person(server.app, "web:admin", "Admin", roles=("admin",), role="buyer")
        both = Audience(areas=["chi-lang", "that-khe"])
        sent = services.broadcasts.create(author, "Họp", "", both, clock.now(), clock.now(), "x")
        services.outbox.start(sent, clock.now())
        later = clock.now().replace(year=2027)
        services.broadcasts.create(author, "Sau", "", Audience(), later, clock.now(), "y")
        report = build_report(services)
        assert report.by_area["chi-lang"].broadcasts == 1
        assert report.by_area["that-khe"].broadcasts == 1
        assert report.total.broadcasts == 1  # the scheduled one has not been sent
        assert report.by_month["2026-11"].broadcasts == 1
        assert build_report(services, ["ky-lua"]).total.broadcasts == 0
