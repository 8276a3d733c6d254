"""Console sign-in and access rules over HTTP: links, sessions, CSRF, roles, areas."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.services.users import ADMIN
from tests.console_helpers import (
    ADMIN_TG,
    admin,
    client,
    csrf_of,
    link_token,
    person,
    redeem,
    running,
    sign_in,
    team_member,
)
from tests.helpers.driver import Chat
from tests.helpers.msgids import said


async def test_link_signs_in_once_and_a_replay_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        token = link_token(server.app, f"telegram:{ADMIN_TG}")
        first = await redeem(http, server, token)
        assert first.status == 200 and first.url.path == "/console/dashboard"
        assert said(await first.text(), "Dashboard")
        async with client() as other:
            replay = await redeem(other, server, token)
            assert replay.status == 403
            assert "đã được dùng" in await replay.text()
            async with other.get(f"{server.base}/console/dashboard") as page:
                assert page.url.path == "/console"  # not signed in: sent to the front door


async def test_expired_link_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        token = link_token(server.app, f"telegram:{ADMIN_TG}")
        clock.advance(minutes=10, seconds=1)
        response = await redeem(http, server, token)
        assert response.status == 403


async def test_link_for_a_farmer_gives_no_session(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        person(server.app, "telegram:333", "Lan")
        response = await sign_in(http, server, "telegram:333")
        assert response.status == 403


async def test_post_without_csrf_token_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        await sign_in(http, server, f"telegram:{ADMIN_TG}")
        entry = server.app.services.faq.all()[0]
        before = entry.answer
        url = f"{server.base}/console/faq/{entry.id}"
        data = {"question": entry.question, "answer": "Hijacked", "alternatives": "", "tags": ""}
        async with http.post(url, data=data) as response:
            assert response.status == 403
        async with http.post(url, data={**data, "csrf": "wrong"}) as response:
            assert response.status == 403
        assert server.app.services.faq.get(entry.id).answer == before  # type: ignore[union-attr]
        async with http.post(f"{server.base}/console/logout") as response:
            assert response.status == 403


async def test_session_expires_when_idle_and_sign_out_ends_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        await sign_in(http, server, f"telegram:{ADMIN_TG}")
        clock.advance(hours=8, minutes=1)
        async with http.get(f"{server.base}/console/dashboard") as page:
            assert page.url.path == "/console"
        await sign_in(http, server, f"telegram:{ADMIN_TG}")
        async with http.get(f"{server.base}/console/dashboard") as page:
            csrf = csrf_of(await page.text())
        async with http.post(f"{server.base}/console/logout", data={"csrf": csrf}) as out:
            assert out.url.path == "/console"
        async with http.get(f"{server.base}/console/dashboard") as page:
            assert page.url.path == "/console"


async def test_cookie_is_http_only_strict_and_secure_behind_https(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock, public_base_url="https://x.example") as server:
        admin(server.app)
        token = link_token(server.app, f"telegram:{ADMIN_TG}")
        async with client() as http:
            async with http.get(f"{server.base}/console/login/{token}") as page:
                pre = page.cookies["ndc_pre"]
                csrf = csrf_of(await page.text())
            assert pre["secure"] and pre["httponly"] and pre["samesite"] == "Strict"
            async with http.post(
                f"{server.base}/console/login",
                data={"token": token, "csrf": csrf},
                headers={"Cookie": f"ndc_pre={pre.value}"},
                allow_redirects=False,
            ) as response:
                assert response.status == 303
                session = response.cookies["ndc_session"]
        assert session["secure"] and session["httponly"] and session["samesite"] == "Strict"
        assert session["path"] == "/console"


async def test_revoked_role_ends_the_session(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        member = person(server.app, "telegram:444", "Hòa", roles=(ADMIN,))
        await sign_in(http, server, "telegram:444")
        member.roles = []
        server.app.services.users.save(member)
        async with http.get(f"{server.base}/console/dashboard") as page:
            assert page.url.path == "/console"


async def test_team_member_sees_own_area_and_is_refused_others(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        team_member(server.app, "chi-lang")
        await sign_in(http, server, "telegram:222")
        async with http.get(f"{server.base}/console/dashboard?area=chi-lang") as page:
            assert page.status == 200
        for path in (
            "/console/dashboard?area=that-khe",
            "/console/dashboard/areas.csv?area=that-khe",
            "/console/faq",
            "/console/users",
        ):
            async with http.get(server.base + path) as page:
                assert page.status == 403, path


async def test_console_command_gives_links_to_staff_only(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server:
        farmer = Chat(server.app, "telegram:555", "Lan")
        await farmer.onboard()
        await farmer.say("/console")
        assert "/console/login/" not in farmer.text()
        staff = Chat(server.app, f"telegram:{ADMIN_TG}", "Admin")
        await staff.onboard()
        await staff.say("/console")
        assert f"{server.app.settings.base_url}/console/login/" in staff.text()
        token = staff.text().split("/console/login/")[1].split()[0]
        async with client() as http:
            response = await redeem(http, server, token)
            assert response.url.path == "/console/dashboard"


async def test_command_line_link_signs_the_first_admin_in(
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.__main__ import main

    data = tmp_path / "d"
    async with running(data, clock) as server:  # the bot is running: the store is locked
        admin(server.app)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATA_DIR", str(data))
        monkeypatch.setenv("ADMIN_TELEGRAM_IDS", f"{ADMIN_TG},999999")
        assert main(["console-link"]) == 0
        link = capsys.readouterr().out.strip()
        assert link.startswith("http://127.0.0.1:8080/console/login/")
        async with client() as http:
            response = await redeem(http, server, link.rsplit("/", 1)[1])
            assert response.url.path == "/console/dashboard"
        monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "")
        assert main(["console-link"]) == 2
