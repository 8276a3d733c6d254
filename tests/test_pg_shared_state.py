"""State that used to live in one process, shared by two bot processes on one PostgreSQL database.

Each test runs two whole apps (web server, channels, jobs) on the same fresh database, as two
processes behind a load balancer would: what one of them did, the other must know.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.channels.plain import incoming_text
from bot.core.clock import FakeClock
from bot.faq_cli import run_faq
from bot.server import WEB_CHAT_KEY, start
from bot.services.share import write_qr
from bot.web.console.auth import COOKIE
from bot.web.console.base import WAITS_PER_MINUTE
from tests.console_helpers import (
    ADMIN_TG,
    Server,
    admin,
    client,
    link_token,
    redeem,
    running,
)
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA
from tests.helpers.driver import settings_for
from tests.helpers.msgids import said
from tests.webchat_notices_helpers import browser_session, held_poll, notify, web_person
from tests.zalo_helpers import OAUser, ZaloBot, start_zalo_bot

pytestmark = pytest.mark.pg
# The pair the operator configured (the fake's first), the same in every process's settings.
CONFIGURED = {
    "zalo_oa_access_token": "access-1",
    "zalo_oa_refresh_token": "refresh-1",
    "zalo_bot_token": "",
}


@asynccontextmanager
async def two_processes(
    tmp_path: Path, clock: FakeClock, pg_url: str, **overrides: Any
) -> AsyncIterator[tuple[Server, Server]]:
    """Two whole bots on one database, as two processes behind a load balancer."""
    async with (
        running(tmp_path / "a", clock, database_url=pg_url, **overrides) as one,
        running(tmp_path / "b", clock, database_url=pg_url, **overrides) as two,
    ):
        yield one, two


async def test_a_console_link_signs_in_once_across_processes(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    async with (
        two_processes(tmp_path, clock, pg_url) as (one, two),
        client() as http,
    ):
        admin(one.app)
        await one.app.store.flush()
        token = link_token(one.app, f"telegram:{ADMIN_TG}")  # /console answered by process one
        await one.app.store.flush()
        first = await redeem(http, two, token)  # the link opened on process two
        assert first.status == 200 and first.url.path == "/console/dashboard"
        # The session is known to process one as well: the same cookie shows the dashboard.
        async with http.get(f"{one.base}/console/dashboard") as page:
            assert page.status == 200 and page.url.path == "/console/dashboard"
        async with client() as other:
            replay = await redeem(other, one, token)
            assert replay.status == 403


async def test_made_up_console_cookies_get_few_waits_for_the_database(
    tmp_path: Path, clock: FakeClock, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown cookie makes the process look for other processes' commits (a round trip);
    made-up ones from one address get WAITS_PER_MINUTE of those, then are simply unknown."""
    async with two_processes(tmp_path, clock, pg_url) as (one, two):
        admin(one.app)
        await one.app.store.flush()
        waits = 0
        real_catch_up = two.app.store.catch_up

        async def counted() -> None:
            nonlocal waits
            waits += 1
            await real_catch_up()

        monkeypatch.setattr(two.app.store, "catch_up", counted)
        async with client() as http:
            for n in range(WAITS_PER_MINUTE + 10):
                http.cookie_jar.update_cookies({COOKIE: f"made-up-{n}"})
                async with http.get(f"{two.base}/console/dashboard") as page:
                    assert page.url.path != "/console/dashboard"  # not signed in
        assert waits == WAITS_PER_MINUTE
        # The address's waits are spent, but a real link works once the change feed brought
        # it to process two (a browser is that slow; the test waits for it explicitly).
        token = link_token(one.app, f"telegram:{ADMIN_TG}")
        await one.app.store.flush()
        await real_catch_up()
        async with client() as fresh:
            signed_in = await redeem(fresh, two, token)
            assert signed_in.status == 200 and signed_in.url.path == "/console/dashboard"


async def test_two_processes_redeeming_one_link_at_once_sign_in_once(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    async with two_processes(tmp_path, clock, pg_url) as (one, two):
        for _round in range(5):
            token = link_token(one.app, f"telegram:{ADMIN_TG}")
            await one.app.store.flush()
            await two.app.store.catch_up()
            got = await asyncio.gather(
                one.app.services.console_links.redeem(token),
                two.app.services.console_links.redeem(token),
            )
            assert sorted(got, key=str) == [None, f"telegram:{ADMIN_TG}"], got


async def test_the_command_line_link_works_on_any_process(
    tmp_path: Path,
    clock: FakeClock,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.__main__ import main

    async with (
        two_processes(tmp_path, clock, pg_url) as (one, two),
        client() as http,
    ):
        admin(one.app)
        await one.app.store.flush()
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATA_DIR", str(tmp_path / "cli"))
        monkeypatch.setenv("DATABASE_URL", pg_url)
        monkeypatch.setenv("ADMIN_TELEGRAM_IDS", ADMIN_TG)
        assert await asyncio.to_thread(main, ["console-link"]) == 0
        link = capsys.readouterr().out.strip()
        assert not (tmp_path / "cli" / "console").exists()  # no file: straight into the database
        response = await redeem(http, two, link.rsplit("/", 1)[1])
        assert response.url.path == "/console/dashboard"


async def two_zalo_apps(
    tmp_path: Path, clock: FakeClock, pg_url: str, oa: FakeZaloOA, bot: FakeZaloBot
) -> tuple[ZaloBot, ZaloBot]:
    """Two bot processes serving one Official Account from one database, configured alike."""
    apps = []
    for name in ("a", "b"):
        apps.append(
            await start_zalo_bot(
                tmp_path / name, clock, oa, bot, database_url=pg_url, **CONFIGURED
            )
        )
    return apps[0], apps[1]


async def test_two_processes_renew_the_oa_token_once(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    async with FakeZaloOA(clock=clock.now) as fake, FakeZaloBot() as bot_fake:
        one, two = await two_zalo_apps(tmp_path, clock, pg_url, fake, bot_fake)
        try:
            # The configured pair's age is unknown: the first process renewed it at start-up,
            # the second found that pair in the database and spent nothing.
            assert fake.refreshes == 1
            assert two.oa.keeper.pair.access_token == fake.access_token == "access-2"
            clock.advance(hours=24, minutes=30)  # both see the pair near its expiry
            before = fake.refreshes
            await asyncio.gather(one.oa.keeper.renew_if_due(), two.oa.keeper.renew_if_due())
            assert fake.refreshes == before + 1  # exactly one refresh for the two processes
            assert fake.spent_refresh_tokens == ["refresh-1", "refresh-2"]
            assert one.oa.keeper.pair.access_token == fake.access_token == "access-3"
            assert two.oa.keeper.pair.access_token == fake.access_token
            # Both answer with it: a farmer writes to each process in turn.
            for app in (one, two):
                fake.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/zalo-oa"
                assert said(await OAUser(app, "u1").say("Xin chào"), "What is your name?")
            assert fake.rejected_sends == 0 and fake.violations == []
        finally:
            await one.app.stop()
            await two.app.stop()


async def test_the_oa_token_file_moves_into_the_database_once(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    async with FakeZaloOA(clock=clock.now) as fake, FakeZaloBot() as bot_fake:
        embedded = await start_zalo_bot(tmp_path / "a", clock, fake, bot_fake, **CONFIGURED)
        await embedded.app.stop()  # renewed the configured pair and kept it in its file
        assert fake.spent_refresh_tokens == ["refresh-1"]
        one, two = await two_zalo_apps(tmp_path, clock, pg_url, fake, bot_fake)
        try:
            assert fake.refreshes == 1  # the file's fresh pair was taken over, not renewed
            assert one.oa.keeper.pair.access_token == two.oa.keeper.pair.access_token
            assert two.oa.keeper.pair.access_token == "access-2"
        finally:
            await one.app.stop()
            await two.app.stop()


async def test_a_number_typed_to_one_process_presses_the_menu_another_sent(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    async with FakeZaloOA(clock=clock.now) as fake, FakeZaloBot() as bot_fake:
        one, two = await two_zalo_apps(tmp_path, clock, pg_url, fake, bot_fake)
        try:
            fake.webhook_url = f"http://127.0.0.1:{one.port}/webhooks/zalo-oa"
            user = OAUser(one, "u2")
            await user.say("Xin chào")
            await user.say("Lan")
            await user.choose("Anh Lan")
            await user.say("0912345678")
            await user.say("chi lang")
            await user.choose("bán")
            await user.choose("Na Chi")
            await user.choose("Xong")
            menu = await user.choose("Có")  # the main menu, sent by process one
            assert "\n8. " in menu
            await one.app.store.flush()
            # Process two knows the buttons process one showed: "8" is a press of the eighth.
            typed = incoming_text("zalo_oa", "zalo_oa:u2", "8")
            pressed = two.oa.menus.press("u2", typed)
            assert (
                pressed.kind == "button"
                and pressed.payload == one.oa.menus.press("u2", typed).payload
            )
            fake.webhook_url = f"http://127.0.0.1:{two.port}/webhooks/zalo-oa"
            user.bot = two
            answer = await user.say("8")  # "8. Hồ sơ của tôi", typed to process two
            assert "Lan" in answer and "0912 345 678" in answer
        finally:
            await one.app.stop()
            await two.app.stop()


async def test_a_notice_made_in_one_process_reaches_the_poll_held_by_another(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    async with (
        two_processes(tmp_path, clock, pg_url) as (one, two),
        client() as http,
    ):
        session = await browser_session(http, one)  # the cookie made by process one...
        lan = web_person(one, session)
        await one.app.store.flush()
        async with http.post(f"{two.base}/chat/api/send", json={"text": "menu"}) as answer:
            assert answer.status == 200
            assert "nds_chat" not in answer.cookies  # ...is good on process two: same session
        poll = await held_poll(http, two, session)  # the page's long poll, held by process two
        await notify(one, lan, "Có đơn hàng mới")  # an order for Lan, handled by process one
        assert [r["html"] for r in await poll] == ["Có đơn hàng mới"]
        # Collected once: neither process hands it out again.
        await notify(one, lan, "hai")
        for server in (two, one):
            async with http.post(f"{server.base}/chat/api/send", json={"text": "menu"}) as sent:
                shown = [r["html"] for r in (await sent.json())["replies"]]
            assert shown.count("hai") == (1 if server is two else 0), shown


async def test_the_faq_command_line_writes_the_database_while_bots_run(
    tmp_path: Path, clock: FakeClock, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with two_processes(tmp_path, clock, pg_url) as (one, two):
        cli = settings_for(tmp_path / "cli", database_url=pg_url)
        new = tmp_path / "new.csv"
        new.write_text('question,answer\nNuôi ong lấy mật thế nào?,"Dạ, hỏi trạm khuyến nông."\n')
        assert await asyncio.to_thread(run_faq, cli, "import", new) == 0
        assert "added 1" in capsys.readouterr().out
        assert not (tmp_path / "cli" / "inbox").exists()  # no hand-off: straight in
        for server in (one, two):
            await server.app.store.catch_up()
            questions = [d["question"] for d in server.app.store.table("faq")]
            assert "Nuôi ong lấy mật thế nào?" in questions
        out = tmp_path / "out.csv"
        assert await asyncio.to_thread(run_faq, cli, "export", out) == 0
        assert "Nuôi ong" in out.read_text(encoding="utf-8-sig")


async def test_media_written_by_one_process_is_served_by_the_other(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    shared = tmp_path / "nfs" / "media"  # MEDIA_DIR: one path mounted by both processes
    async with (
        two_processes(tmp_path, clock, pg_url, media_dir_override=shared) as (one, two),
        client() as http,
    ):
        ref = write_qr(one.app.services.media.media_dir, 7, "https://example.org/p/7")
        async with http.get(f"{two.base}/media/{ref.removeprefix('media:')}") as got:
            assert got.status == 200 and (await got.read()).startswith(b"\x89PNG")
        assert not (tmp_path / "a" / "media").exists() and not (tmp_path / "b" / "media").exists()


async def test_processes_starting_together_sign_web_chat_cookies_alike(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    started = await asyncio.gather(
        *(start(settings_for(tmp_path / n, database_url=pg_url), clock) for n in ("a", "b"))
    )
    try:
        one, two = (runner.app[WEB_CHAT_KEY].sessions for _app, runner in started)
        for _ in range(3):
            session, cookie = one.issue()
            assert two.check(cookie) == session
            session, cookie = two.issue()
            assert one.check(cookie) == session
    finally:
        for app, _runner in started:
            await app.stop()


async def test_a_session_used_on_two_processes_at_once_serves_both(
    tmp_path: Path, clock: FakeClock, pg_url: str
) -> None:
    async with (
        two_processes(tmp_path, clock, pg_url) as (one, two),
        client() as http,
    ):
        admin(one.app)
        await one.app.store.flush()
        assert (await redeem(http, one, link_token(one.app, f"telegram:{ADMIN_TG}"))).status == 200
        for _round in range(3):
            clock.advance(minutes=6)  # each request notes the session in use: both at once
            pages = await asyncio.gather(
                *(http.get(f"{server.base}/console/dashboard") for server in (one, two))
            )
            for page in pages:
                page.release()
            assert [(p.status, p.url.path) for p in pages] == [(200, "/console/dashboard")] * 2
