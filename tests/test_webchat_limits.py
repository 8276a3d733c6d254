"""Anonymous web chat: rate limits, no user records for nothing, session cookies it issued."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from bot.config import ConfigError, load_settings
from bot.core.clock import FakeClock
from tests.helpers.driver import Chat
from tests.helpers.msgids import (
    ASK_HOW_TO_CALL,
    ASK_NAME,
    ASK_PHONE_TYPED,
    MAIN_MENU,
    WELCOME,
    said,
)
from tests.webchat_helpers import registered, web_chat

PLEASE_WAIT = "chờ"
# Behind a trusted proxy: 2 sends a minute per session, 20 per client address.
ADDRESS_CAPPED: dict[str, Any] = {
    "webchat_session_messages_per_minute": 2,
    "webchat_address_messages_per_minute": 20,
    "trusted_proxies": ("127.0.0.1",),
}


def user_count(app: object) -> int:
    return len(app.services.users.all())  # type: ignore[attr-defined]


async def test_cookieless_floods_create_no_users(tmp_path: Path, clock: FakeClock) -> None:
    async with web_chat(tmp_path / "d", clock, trusted_proxies=("127.0.0.1",)) as (app, browser):
        for i in range(60):
            curl = browser(f"198.51.100.{i}", cookies=False)
            assert await curl.say(f"hello {i} <script>") == 200
            assert await curl.tap("listings") == 200
        assert user_count(app) == 0


async def test_a_visitor_becomes_a_user_when_they_answer(tmp_path: Path, clock: FakeClock) -> None:
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        lan = browser()
        await lan.open()
        await lan.say("/start")
        assert said(lan.text(), ASK_NAME), lan.text()
        assert user_count(app) == 0  # a page view alone leaves no record
        await lan.say("Hoàng Thị Lan")
        assert said(lan.text(), ASK_HOW_TO_CALL, name="Lan"), lan.text()  # the next question
        assert not said(lan.text(), WELCOME)  # not greeted twice
        [user] = app.services.users.all()
        assert user.name == "Hoàng Thị Lan"


async def test_sends_are_limited_per_session_with_a_please_wait(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = {"webchat_session_messages_per_minute": 5}
    async with web_chat(tmp_path / "d", clock, **settings) as (app, browser):
        lan = await registered(app, browser())
        for i in range(5):
            assert await lan.say(f"na chi lang {i}") == 200
        assert await lan.say("na chi lang") == 429
        assert PLEASE_WAIT in lan.text(), lan.text()
        assert int(lan.response_headers["Retry-After"]) >= 1
        other = browser()
        await other.open()
        assert await other.say("/start") == 200  # another session is not held up
        clock.advance(minutes=1)
        assert await lan.say("/menu") == 200


async def test_sends_are_limited_per_address_only_behind_trusted_proxies(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with web_chat(tmp_path / "d", clock, **ADDRESS_CAPPED) as (app, browser):
        lan = await registered(app, browser("203.0.113.5"))
        codes = []
        for _ in range(11):
            visitor = browser("203.0.113.5")
            codes += [await visitor.say("/start"), await visitor.say("Hoa")]
        assert codes[:20] == [200] * 20 and codes[20:] == [429, 429], codes
        assert PLEASE_WAIT in visitor.text()
        assert await browser("203.0.113.6").say("/start") == 200  # another address
        assert await lan.say("/menu") == 200  # registered users are not capped by address
        # a forged X-Forwarded-For from the proxy's far side does not open a new allowance
        assert await browser("10.9.9.9, 203.0.113.5").say("/start") == 429


async def test_a_flooding_address_is_refused_before_anything_is_read(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with web_chat(tmp_path / "d", clock, **ADDRESS_CAPPED) as (app, browser):
        lan = await registered(app, browser("198.51.100.7"))
        for _ in range(20):
            assert await browser("198.51.100.7", cookies=False).say("/start") == 200
        script = browser("198.51.100.7", cookies=False)
        # Not even JSON: refused for its address's rate before the body is looked at.
        assert await script.send_bytes(b"{not json") == 429
        assert PLEASE_WAIT in script.text(), script.text()
        assert int(script.response_headers["Retry-After"]) >= 1
        assert "Set-Cookie" not in script.response_headers  # no session made for a flood
        assert user_count(app) == 1
        assert await lan.say("/menu") == 200  # her cookie: not capped by the address
        assert said(lan.text(), MAIN_MENU), lan.text()


async def test_a_refused_upload_is_answered_and_its_connection_closed_unread(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = {
        "webchat_session_messages_per_minute": 1,
        "webchat_address_messages_per_minute": 10,
        "trusted_proxies": ("127.0.0.1",),
    }
    async with web_chat(tmp_path / "d", clock, **settings) as (_app, browser):
        for _ in range(10):
            assert await browser("198.51.100.7", cookies=False).say("/start") == 200
        url = URL(browser().base)
        reader, writer = await asyncio.open_connection(url.host, url.port)
        head = (
            "POST /chat/api/photo HTTP/1.1\r\nHost: chat\r\nX-Forwarded-For: 198.51.100.7\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {4 * 1024 * 1024}\r\n\r\n--b\r\n"
        )
        writer.write(head.encode())  # 4 MB announced, a few bytes sent: the rest never comes
        # The answer comes at once and the connection is closed, rather than held open to
        # read (and drop) the 4 MB of photo first.
        answer = await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 429"), answer[:100]
        [reply] = json.loads(answer.partition(b"\r\n\r\n")[2])["replies"]
        assert PLEASE_WAIT in reply["html"], reply


async def test_forwarded_for_is_ignored_from_untrusted_peers(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = {
        "webchat_session_messages_per_minute": 1,
        "webchat_address_messages_per_minute": 10,
    }
    async with web_chat(tmp_path / "d", clock, **settings) as (_app, browser):
        codes = [await browser(f"192.0.2.{i}").say("/start") for i in range(12)]
        assert codes[:10] == [200] * 10 and codes[10:] == [429, 429], codes


async def test_anonymous_traffic_from_many_addresses_is_capped_together(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = {
        "webchat_anonymous_messages_per_minute": 30,
        "trusted_proxies": ("127.0.0.1",),
    }
    async with web_chat(tmp_path / "d", clock, **settings) as (app, browser):
        lan = await registered(app, browser("203.0.113.5"))
        codes = [await browser(f"10.0.{i // 250}.{i % 250 + 1}").say("/start") for i in range(32)]
        assert codes[:30] == [200] * 30 and codes[30:] == [429, 429], codes
        assert await lan.say("/menu") == 200  # a registered farmer is never held up by them
        assert said(lan.text(), MAIN_MENU), lan.text()


def test_limit_settings_are_checked(tmp_path: Path) -> None:
    env = {
        "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
        "WEBCHAT_SESSION_MESSAGES_PER_MINUTE": "10",
        "WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE": "100",
        "WEBCHAT_ANONYMOUS_MESSAGES_PER_MINUTE": "500",
        "WEBCHAT_SESSION_UPLOAD_MB_PER_HOUR": "5",
        "WEBCHAT_ADDRESS_UPLOAD_MB_PER_HOUR": "50",
        "MEDIA_SWEEP_GRACE_HOURS": "6",
    }
    settings = load_settings(env, env_file=None)
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert settings.webchat_session_messages_per_minute == 10
    assert settings.webchat_anonymous_messages_per_minute == 500
    assert settings.webchat_session_upload_bytes_per_hour == 5 * 1024 * 1024
    assert settings.media_sweep_grace_hours == 6
    defaults = load_settings({}, env_file=None)
    assert (
        defaults.webchat_address_messages_per_minute
        >= 10 * defaults.webchat_session_messages_per_minute
    )
    assert (
        defaults.webchat_address_upload_bytes_per_hour
        >= 10 * defaults.webchat_session_upload_bytes_per_hour
    )
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({"TRUSTED_PROXIES": "proxy.example"}, env_file=None)
    with pytest.raises(ConfigError, match="10"):
        load_settings({**env, "WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE": "50"}, env_file=None)
    with pytest.raises(ConfigError, match="WEBCHAT_SESSION_MESSAGES_PER_MINUTE"):
        load_settings({"WEBCHAT_SESSION_MESSAGES_PER_MINUTE": "lots"}, env_file=None)


# --- cookies and session ids ---------------------------------------------------------------


async def test_cookie_is_secure_behind_https_and_http_only(
    tmp_path: Path, clock: FakeClock
) -> None:
    https = {"public_base_url": "https://nongdanso.example.vn"}
    async with web_chat(tmp_path / "d", clock, **https) as (_app, browser):
        resp = await browser().open()
        cookie = resp.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    async with web_chat(tmp_path / "e", clock) as (_app, browser):
        resp = await browser().open()
        assert "Secure" not in resp.headers["Set-Cookie"]


async def test_a_client_chosen_session_id_is_replaced(tmp_path: Path, clock: FakeClock) -> None:
    chosen = "a" * 32
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        attacker = browser()
        attacker.set_cookie(chosen)
        await attacker.open()
        await attacker.say("/start")
        await attacker.say("Lan")
        assert attacker.cookie() != chosen
        assert app.services.users.by_key(f"web:{chosen}") is None
        assert app.services.users.all()  # the visitor got a session of the server's making
        _sid, signature = attacker.cookie().split(".")
        tampered = f"{'b' * 32}.{signature}"  # another id under a signature seen before
        forged = browser()
        forged.set_cookie(tampered)
        await forged.say("/start")
        assert forged.cookie() not in ("", tampered)


async def test_cookies_of_stored_users_keep_working(tmp_path: Path, clock: FakeClock) -> None:
    legacy = "0123456789abcdef0123456789abcdef"
    async with web_chat(tmp_path / "d", clock) as (app, browser):
        await Chat(app, f"web:{legacy}", "Hoa").onboard()  # a user of today's cookies
        again = browser()
        again.set_cookie(legacy)
        await again.say("/menu")
        assert said(again.text(), MAIN_MENU), again.text()
        assert again.cookie() == legacy


async def test_a_stored_users_session_survives_a_lost_signing_key(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with web_chat(tmp_path / "d", clock) as (_app, browser):
        hoa = browser()
        await hoa.open()
        await hoa.say("/start")
        await hoa.say("Hoa")  # her record exists from here
        session = hoa.cookie().split(".")[0]
        after = browser()
        after.set_cookie(f"{session}.{'0' * 32}")  # signed with a key since lost
        await after.tap(hoa.payloads()[0])  # how she is called: the question she was at
        assert said(after.text(), ASK_PHONE_TYPED), after.text()  # her onboarding goes on
        assert after.cookie() == f"{session}.{'0' * 32}"


async def test_huge_text_is_refused_without_being_read(tmp_path: Path, clock: FakeClock) -> None:
    async with web_chat(tmp_path / "d", clock) as (_app, browser):
        lan = browser()
        await lan.open()
        assert await lan.say("na " * 40_000) == 413  # 120 KB of "text"
        assert await lan.say("🌾 <b>na</b> & " * 300) == 200  # long but sane: answered
