"""Notices for a web chat user: they reach the page's long poll, or wait for it, restarts too."""

from __future__ import annotations

from pathlib import Path

from bot.core.clock import FakeClock
from tests.console_helpers import client, person, running
from tests.webchat_notices_helpers import browser_session, held_poll, notify, web_person


async def test_a_notice_wakes_the_waiting_poll(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        session = await browser_session(http, server)
        lan = web_person(server, session)
        poll = await held_poll(http, server, session)
        await notify(server, lan, "Có đơn hàng mới")
        assert [r["html"] for r in await poll] == ["Có đơn hàng mới"]


async def test_notices_wait_for_the_page_in_order(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        session = await browser_session(http, server)
        lan = web_person(server, session)
        await notify(server, lan, "một")
        await notify(server, lan, "hai")
        async with http.post(f"{server.base}/chat/api/send", json={"text": "menu"}) as answer:
            replies = (await answer.json())["replies"]
        assert [r["html"] for r in replies[:2]] == ["một", "hai"]  # then the answer itself
        assert len(replies) > 2
        async with http.post(f"{server.base}/chat/api/send", json={"text": "menu"}) as again:
            assert "một" not in [r["html"] for r in (await again.json())["replies"]]


async def test_a_notice_not_yet_collected_survives_a_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with client() as http:
        async with running(tmp_path / "d", clock) as server:
            session = await browser_session(http, server)
            await notify(server, web_person(server, session), "Có đơn hàng mới")
        async with (
            running(tmp_path / "d", clock) as server,
            http.get(f"{server.base}/chat/api/poll") as poll,
        ):
            assert [r["html"] for r in (await poll.json())["replies"]] == ["Có đơn hàng mới"]


async def test_a_waiting_notice_telling_of_a_deleted_person_goes_with_them(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        session = await browser_session(http, server)
        man = web_person(server, session)
        khoa = person(server.app, "telegram:5", "Đặng Văn Khoa")
        khoa.phone = "+84976111222"
        server.app.services.users.save(khoa)
        await notify(server, man, "Đơn mới của Đặng Văn Khoa")
        await notify(server, man, "Người mua gọi: 0976 111 222")
        await notify(server, man, "Bài học mới")
        server.app.services.delete_user(khoa)
        async with http.get(f"{server.base}/chat/api/poll") as poll:
            assert [r["html"] for r in (await poll.json())["replies"]] == ["Bài học mới"]
