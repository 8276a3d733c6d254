"""Webhook calls with the right secret but a malformed body: refused or skipped, one log line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.clock import FakeClock
from bot.server import start
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA
from tests.helpers.driver import settings_for
from tests.helpers.waiting import wait_until
from tests.zalo_helpers import ZaloBot, start_zalo_bot

LAN = 5001
SECRET = "s3cret-s3cret-s3cret"


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records at WARNING or above."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_telegram_malformed_update_is_a_400_and_one_line(
    fake_telegram: FakeTelegram, tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(
        tmp_path / "wh",
        telegram_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.base_url,
        telegram_webhook_url="https://bot.example.org/webhooks/telegram",
        telegram_webhook_secret=SECRET,
    )
    app, runner = await start(settings, clock)
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/telegram"
        malformed: list[dict[str, Any]] = [
            {"update_id": 11, "message": {"text": "hi"}},  # no chat, date, message_id
            {"update_id": 12, "message": "hi"},
            {"update_id": 13, "callback_query": {"id": "x", "from": 5}},
            {"update_id": 14, "message": {"message_id": 1, "date": "x", "chat": []}},
        ]
        for update in malformed:
            caplog.clear()
            # Refused and logged before the answer: nothing to wait for.
            assert await fake_telegram.post_webhook(url, update, SECRET) == 400, update
            lines = problems(caplog)
            assert len(lines) == 1, [r.getMessage() for r in caplog.records]
            assert lines[0].exc_info is None and lines[0].levelno == logging.WARNING
            assert "malformed" in lines[0].getMessage()
        assert fake_telegram.messages_to(LAN) == []
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with aiohttp.ClientSession() as http:
            for body in (b'{"message": {"text": "no update_id"}}', b'[{"update_id": 15}]'):
                caplog.clear()
                async with http.post(url, data=body, headers=headers) as response:
                    assert response.status == 400
                assert len(problems(caplog)) == 1, [r.getMessage() for r in caplog.records]
            async with http.post(url, data=b"{not json", headers=headers) as response:
                assert response.status == 400
        # A good update still works afterwards.
        good = fake_telegram.build.text(LAN, "/start")
        assert await fake_telegram.post_webhook(url, good, SECRET) == 200
        assert await fake_telegram.wait_for(LAN, 1)
    finally:
        await app.stop()


@pytest.fixture
async def zalo_hook(tmp_path: Path, clock: FakeClock) -> Any:
    async with FakeZaloOA() as oa_fake, FakeZaloBot() as bot_fake:
        zalo = await start_zalo_bot(
            tmp_path / "data",
            clock,
            oa_fake,
            bot_fake,
            zalo_bot_webhook_secret="s3cret-Zalo-bot",
            public_base_url="https://nongdanso.example.vn",
        )
        try:
            yield zalo
        finally:
            await zalo.app.stop()


async def _post_oa(zalo: ZaloBot, event: Any, *, raw: bytes | None = None) -> int:
    body = raw if raw is not None else json.dumps(event).encode()
    timestamp = str(event.get("timestamp", "")) if isinstance(event, dict) else ""
    headers = {"X-ZEvent-Signature": zalo.oa_fake.sign(body, timestamp)}
    async with zalo.oa_fake.http.post(zalo.oa_fake.webhook_url, data=body, headers=headers) as r:
        return r.status


async def test_zalo_oa_malformed_event_is_acknowledged_and_skipped(
    zalo_hook: ZaloBot, caplog: pytest.LogCaptureFixture
) -> None:
    zalo = zalo_hook
    good = zalo.oa_fake.event("user_send_text", "u1", text="xin chao")
    malformed: list[Any] = [
        {**good, "sender": "u1"},
        {**good, "message": "xin chao"},
        {**good, "message": {"msg_id": "m9", "attachments": "photo"}},
        {**good, "message": {"msg_id": "m8", "attachments": [{"payload": "x"}]}},
        {**good, "event_name": ["user_send_text"]},
        {"event_name": "follow", "follower": "u1", "timestamp": "1"},
        [good],  # signed, but not an object: still acknowledged (Zalo disables failing hooks)
        "user_send_text",
        None,
    ]
    for event in malformed:
        caplog.clear()
        assert await _post_oa(zalo, event) == 200, event
        await zalo.oa.idle()
        lines = problems(caplog)
        assert len(lines) == 1, (event, [r.getMessage() for r in caplog.records])
        assert lines[0].levelno == logging.WARNING and lines[0].exc_info is None
    assert zalo.oa_fake.sent == []
    assert zalo.app.services.users.by_key("zalo_oa:u1") is None
    assert await _post_oa(zalo, good, raw=b"{not json") == 400
    assert await _post_oa(zalo, good) == 200  # a good event after all that is answered
    await zalo.oa.idle()
    assert zalo.oa_fake.texts("u1")


async def test_zalo_bot_malformed_update_is_acknowledged_and_skipped(
    zalo_hook: ZaloBot, caplog: pytest.LogCaptureFixture
) -> None:
    zalo = zalo_hook
    url = f"http://127.0.0.1:{zalo.port}/webhooks/zalo-bot"
    secret = "s3cret-Zalo-bot"
    good = zalo.bot_fake.update("chat7", "Xin chào")
    malformed: list[Any] = [
        "just text",
        {**good, "message": "Xin chào"},
        {**good, "message": {**good["message"], "chat": "chat7"}},
        {**good, "message": {**good["message"], "from": ["x"]}},
    ]
    for update in malformed:
        caplog.clear()
        assert await zalo.bot_fake.post_webhook(url, update, secret) == 200, update
        await zalo.zbot.idle()
        lines = problems(caplog)
        assert len(lines) == 1, (update, [r.getMessage() for r in caplog.records])
        assert lines[0].levelno == logging.WARNING and lines[0].exc_info is None
    assert zalo.bot_fake.sent == []
    headers = {"X-Bot-Api-Secret-Token": secret}
    async with zalo.bot_fake.http.post(url, data=b"{not json", headers=headers) as response:
        assert response.status == 400
    assert await zalo.bot_fake.post_webhook(url, good, secret) == 200
    await zalo.zbot.idle()
    assert zalo.bot_fake.texts("chat7")


async def test_zalo_bot_malformed_update_by_long_polling_is_skipped(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeZaloOA() as oa_fake, FakeZaloBot() as bot_fake:
        zalo = await start_zalo_bot(tmp_path / "poll", clock, oa_fake, bot_fake)
        try:
            good = bot_fake.update("chat8", "Xin chào")
            bot_fake.push({**good, "message": {**good["message"], "chat": "chat8"}})
            bot_fake.push(good)
            await wait_until(  # the good update, polled after the bad one
                lambda: bool(bot_fake.texts("chat8")) and not bot_fake._queue,
                "the good update to be answered after the malformed one",
                20,
            )
            await zalo.zbot.idle()
            lines = problems(caplog)
            assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
            # Only the good update was answered: one greeting, asking the name once.
            assert sum("tên là gì" in t for t in bot_fake.texts("chat8")) == 1
        finally:
            await zalo.app.stop()
