"""The Zalo OA token pair over simulated days: renewed ahead of expiry, once per renewal."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.fmt import to_plain
from bot.core.types import Reply
from bot.services.alerts import ZALO_OA_TOKEN
from tests.console_helpers import ADMIN_TG, Server, admin, client, sign_in
from tests.fakes.zalo import TOKEN_LIFETIME, FakeZaloBot, FakeZaloOA
from tests.helpers.msgids import said
from tests.zalo_helpers import OAUser, ZaloBot, start_zalo_bot, zalo

__all__ = ["zalo"]

HOUR = 3600.0
HOW_TO_CALL = "How would you like me to call you, {name}? You can change it later in your profile."
TOKEN_ALERT = (
    "The Zalo OA access token could not be renewed, so the bot may stop answering on Zalo OA. "
    "Authorise the OA again in the Zalo developer console, put the new token pair in "
    "ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN, and restart the bot. Zalo said: {detail}"
)


def token_file(zalo: ZaloBot) -> Path:
    return zalo.app.settings.data_dir / "zalo_oa_token.json"


async def test_a_day_and_more_of_simulated_time_renews_ahead_of_expiry(
    zalo: ZaloBot, clock: FakeClock
) -> None:
    fake, oa = zalo.oa_fake, zalo.oa
    assert oa.keeper.timer in zalo.app.services.jobs  # the timer runs with the app's jobs
    await clock.sleepers(1)  # the app's timer made its first pass and waits on the clock
    start = clock.now()
    user = OAUser(zalo, "day")
    await user.say("Xin chào")
    renewed_at: list[float] = []
    for half_hour in range(1, 2 * 50 + 1):  # 50 hours, 30 minutes at a time
        before = fake.refreshes
        clock.advance(minutes=30)  # wakes the timer...
        await clock.sleepers(1)  # ...which looks at the token, and waits again
        if fake.refreshes != before:
            renewed_at.append((clock.now() - start).total_seconds() / HOUR)
        if half_hour % 6 == 0:  # the farmer writes every three hours and is answered
            assert await user.say("menu")
    # Start-up (the configured pair's age is unknown), then within the hour before each
    # expiry: 25 h after start-up and 25 h after that.
    assert fake.refreshes == 3 and renewed_at == [24.0, 48.0]
    assert fake.spent_refresh_tokens == ["refresh-1", "refresh-2", "refresh-3"]  # each once
    assert fake.rejected_sends == 0  # no send ever carried an expired token
    assert fake.violations == [] and fake.errors == []
    stored = json.loads(token_file(zalo).read_text())
    assert stored["access_token"] == fake.access_token
    assert stored["expires_at"] == (start.timestamp() + 48 * HOUR + TOKEN_LIFETIME.total_seconds())


async def test_a_send_near_expiry_renews_first_even_without_the_timer(
    zalo: ZaloBot, clock: FakeClock
) -> None:
    user = OAUser(zalo, "late")
    await user.say("Xin chào")
    timer = next(task for task in asyncio.all_tasks() if task.get_name() == "timer")
    timer.cancel()  # the app's timer would wake on the clock and renew first
    clock.advance(hours=24, minutes=20)  # 40 minutes left: inside the one-hour margin
    assert said(await user.say("Lan"), HOW_TO_CALL, name="Lan")  # the next question
    assert zalo.oa_fake.refreshes == 2 and zalo.oa_fake.rejected_sends == 0


async def test_an_expired_token_is_renewed_on_minus_220(zalo: ZaloBot, clock: FakeClock) -> None:
    user = OAUser(zalo, "sleepy")
    await user.say("Xin chào")
    zalo.oa_fake.expire_token()  # Zalo removed it early: the next send gets -220
    assert said(await user.say("Lan"), HOW_TO_CALL, name="Lan")  # the next question
    assert zalo.oa_fake.rejected_sends == 1 and zalo.oa_fake.refreshes == 2


async def test_restarts_renew_an_old_file_once_and_a_fresh_pair_never(
    tmp_path: Path, clock: FakeClock
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    async with FakeZaloOA(clock=clock.now) as oa_fake, FakeZaloBot() as bot_fake:
        # A pair stored by an older version: no expires_at.
        old = {"access_token": "access-1", "refresh_token": "refresh-1", "configured": "refresh-1"}
        (data / "zalo_oa_token.json").write_text(json.dumps(old))
        configured = {"zalo_oa_access_token": "access-1", "zalo_oa_refresh_token": "refresh-1"}
        for _restart in range(3):
            zalo = await start_zalo_bot(data, clock, oa_fake, bot_fake, **configured)
            assert said(await OAUser(zalo, "r1").say("Xin chào"), "What is your name?")
            await zalo.app.stop()
            clock.advance(hours=2)
        assert oa_fake.spent_refresh_tokens == ["refresh-1"]  # renewed once, at the first start
        stored = json.loads((data / "zalo_oa_token.json").read_text())
        assert stored["access_token"] == "access-2" and stored["expires_at"] > 0
        # A restart close to expiry renews at once, before anything is sent.
        clock.advance(hours=18, minutes=30)
        zalo = await start_zalo_bot(data, clock, oa_fake, bot_fake, **configured)
        await zalo.app.stop()
        assert oa_fake.refreshes == 2 and oa_fake.violations == []


async def test_minus_201_is_a_bad_parameter_and_leaves_the_token_pair_alone(
    zalo: ZaloBot, caplog: pytest.LogCaptureFixture
) -> None:
    fake, oa = zalo.oa_fake, zalo.oa
    user = OAUser(zalo, "long")
    await user.say("Xin chào")
    pair, stored = oa.keeper.pair, token_file(zalo).read_text()
    refreshes = fake.refreshes
    fake.text_max = 20  # Zalo turns this answer down as too long
    with caplog.at_level(logging.INFO, logger="bot.channels.zalo_oa"):
        assert await user.say("Lan") == ""  # nothing reached the farmer
    assert [code for code, _why in fake.errors] == [-201, -201]  # as a reply, then to the user
    assert fake.refreshes == refreshes and fake.rejected_sends == 0
    assert oa.keeper.pair == pair and token_file(zalo).read_text() == stored
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # The answer to a name is the form-of-address question: a text with buttons.
    assert any("message: invalid parameter (-201" in m for m in logged), logged
    assert not any("renew" in r.getMessage() for r in caplog.records)
    # "Lan" opened a new window; the refused answer took nothing from its free quota.
    assert oa.windows.room("long", zalo.app.services.clock.now()) == 8
    assert oa.windows.counts("long") == (0, 0)


async def test_a_refused_renewal_alerts_the_admins_once_per_episode(
    tmp_path: Path, clock: FakeClock
) -> None:
    told: list[str] = []

    async def telegram(chat_id: str, replies: list[Reply]) -> None:
        told.extend(f"{chat_id}: {to_plain(r.text)}" for r in replies)

    data = tmp_path / "data"
    async with FakeZaloOA(clock=clock.now) as fake, FakeZaloBot() as bot_fake:
        zalo = await start_zalo_bot(
            data, clock, fake, bot_fake, admin_telegram_ids=frozenset({ADMIN_TG})
        )
        zalo.app.services.notifier.register("telegram", telegram)
        admin(zalo.app)
        await OAUser(zalo, "a1").say("Xin chào")
        fake.revoke_refresh_token()  # ours now gets -14014
        await clock.sleepers(1)
        for _hour in range(30):  # the timer keeps trying across the expiry, hourly and after
            clock.advance(hours=1)
            await clock.sleepers(1)  # the timer's pass is over
        assert len(told) == 1 and told[0].startswith(f"{ADMIN_TG}: ⚠️"), told
        assert said(told[0], TOKEN_ALERT, detail="-14014 invalid refresh token"), told
        assert fake.refreshes == 1  # the start-up renewal, and not one since
        # Asked again only hourly, never in a loop: 7 refusals from hour 24 to hour 30.
        assert fake.token_requests == 1 + 7
        # The console dashboard shows it to the admin.
        server = Server(zalo.app, f"http://127.0.0.1:{zalo.port}", clock)
        async with client() as http:
            await sign_in(http, server, f"telegram:{ADMIN_TG}")
            async with http.get(f"{server.base}/console/dashboard") as page:
                html = await page.text()
        assert 'role="alert"' in html and said(html, TOKEN_ALERT, detail="-14014"), html
        await zalo.app.stop()
        # A restart without a fix is the same episode: refused again, nobody told again.
        zalo = await start_zalo_bot(
            data, clock, fake, bot_fake, admin_telegram_ids=frozenset({ADMIN_TG})
        )
        zalo.app.services.notifier.register("telegram", telegram)
        await clock.sleepers(1)  # asked at start-up, then the timer's first pass
        await zalo.app.stop()
        assert fake.token_requests == 1 + 7 + 1 and len(told) == 1
        # The operator authorises again and restarts with a new pair: the episode ends...
        fake.access_token, fake.refresh_token = "access-new", "refresh-new"
        zalo = await start_zalo_bot(
            data,
            clock,
            fake,
            bot_fake,
            admin_telegram_ids=frozenset({ADMIN_TG}),
            zalo_oa_access_token="access-new",
            zalo_oa_refresh_token="refresh-new",
        )
        zalo.app.services.notifier.register("telegram", telegram)
        assert zalo.app.services.alerts.active() == []
        # ...and a later refusal is a new episode: told again, once.
        fake.revoke_refresh_token()
        await clock.sleepers(1)
        for _hour in range(30):
            clock.advance(hours=1)
            await clock.sleepers(1)
        assert [a.key for a in zalo.app.services.alerts.active()] == [ZALO_OA_TOKEN]
        await zalo.app.stop()
        assert len(told) == 2 and said(told[1], TOKEN_ALERT, detail="-14014"), told
        assert fake.violations == []  # and no refresh token was ever used twice
