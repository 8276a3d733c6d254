"""Console broadcasts: audience count, sending once, area limits, stopping, dashboard figure."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.clock import FakeClock
from bot.services.broadcast import CANCELLED, SCHEDULED, Audience
from bot.services.stats import build_report
from tests.console_helpers import Server, client, csrf_of, person, running, sign_in, team_member

FORM_ID = re.compile(r'name="form" value="([^"]+)"')


def consenting(server: Server, key: str, area: str) -> None:
    """A registered farmer who agreed to receive guidance."""
    user = person(server.app, key, key, area=area)
    user.consent = True
    server.app.services.users.save(user)


async def test_team_member_counts_sends_once_and_stays_in_their_area(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        for n in range(3):
            consenting(server, f"web:c{n}", "chi-lang")
        consenting(server, "web:t0", "that-khe")
        team_member(server.app, "chi-lang")
        await sign_in(http, server, "telegram:222")
        async with http.get(f"{server.base}/console/broadcasts") as page:
            html = await page.text()
        csrf, form_id = csrf_of(html), FORM_ID.search(html).group(1)  # type: ignore[union-attr]
        assert 'value="that-khe"' not in html  # only their own areas are offered
        data = {
            "csrf": csrf,
            "form": form_id,
            "text": "Mai <họp> tổ lúc 8h",
            "role": "",
            "trained": "",
        }
        async with http.post(
            f"{server.base}/console/broadcasts", data={**data, "do": "count"}
        ) as r:
            assert "3 người" in await r.text()
        assert (
            server.app.services.broadcasts.with_status(SCHEDULED) == []
        )  # counting sends nothing
        refused = {**data, "do": "send", "areas": "that-khe"}
        async with http.post(f"{server.base}/console/broadcasts", data=refused) as r:
            assert r.status == 403
        for _twice in range(2):
            async with http.post(
                f"{server.base}/console/broadcasts", data={**data, "do": "send"}
            ) as r:
                assert r.status == 200
        repo = server.app.services.broadcasts
        made = [b for s in ("sending", "done") for b in repo.with_status(s)]
        assert len(made) == 1
        assert made[0].audience["areas"] == ["chi-lang"] and made[0].total == 3
        assert made[0].text == "Mai <họp> tổ lúc 8h"
        async with http.get(f"{server.base}/console/broadcasts") as page:
            html = await page.text()
        assert "Mai &lt;họp&gt; tổ lúc 8h" in html
        report = build_report(server.app.services)
        assert report.by_area["chi-lang"].broadcasts == 1 and report.total.broadcasts == 1


async def test_stop_a_scheduled_broadcast_and_others_are_hidden(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        author = person(server.app, "telegram:999", "Admin", roles=("admin",), role="buyer")
        later = clock.now().replace(year=2027)
        repo = server.app.services.broadcasts
        mine = repo.create(
            author, "Tập huấn", "", Audience(areas=["chi-lang"]), later, clock.now(), "f1"
        )
        theirs = repo.create(
            author, "Khác", "", Audience(areas=["that-khe"]), later, clock.now(), "f2"
        )
        team_member(server.app, "chi-lang")
        await sign_in(http, server, "telegram:222")
        async with http.get(f"{server.base}/console/broadcasts") as page:
            html = await page.text()
        assert "Tập huấn" in html and "Khác" not in html
        csrf = csrf_of(html)
        async with http.post(
            f"{server.base}/console/broadcasts/{theirs.id}/stop", data={"csrf": csrf}
        ) as r:
            assert r.status == 403
        async with http.post(
            f"{server.base}/console/broadcasts/{mine.id}/stop", data={"csrf": csrf}
        ) as r:
            assert "Đã dừng" in await r.text()
        assert repo.get(mine.id).status == CANCELLED  # type: ignore[union-attr]
        assert repo.get(theirs.id).status == SCHEDULED  # type: ignore[union-attr]
