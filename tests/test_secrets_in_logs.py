"""No bot token, Zalo token, app secret, OA key or webhook secret in any log line."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import Settings
from bot.logging_setup import MASK, SecretFilter, configure_logging, protect
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.user_side import TINY_PNG
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA
from tests.helpers.driver import make_app
from tests.listings_helpers import farmer, stored, user_id

ROOT = Path(__file__).resolve().parents[1]
TG_USER = 7001


# --- the filter on its own ------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[Callable[[], str]]:
    """A logger whose only handler writes to a string, with the filter installed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    protect(handler)
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield stream.getvalue
    logger.removeHandler(handler)
    MASK.clear()


def test_bot_paths_are_masked_even_for_unknown_tokens(captured: Callable[[], str]) -> None:
    log = logging.getLogger("tests.secrets")
    log.info("HTTP Request: POST %s", "https://api.telegram.org/bot123456:AAE-x_y/getUpdates")
    log.info("GET https://bot-api.zaloplatforms.com/bot99:zAlO-token/sendMessage 200")
    log.info("download https://api.telegram.org/file/bot123456:AAEfile/photos/1.jpg")
    out = captured()
    for token in ("AAE-x_y", "zAlO-token", "AAEfile", "123456:", "99:"):
        assert token not in out, out
    assert out.count("/bot***/") == 3, out
    assert "getUpdates" in out and "sendMessage" in out  # the rest of the line stays useful


def test_configured_and_renewed_secrets_are_masked_everywhere(
    captured: Callable[[], str],
) -> None:
    log = logging.getLogger("tests.secrets")
    MASK.add("s3cr3t-webhook-value", "oa-access-old")
    log.warning("secret in the message: s3cr3t-webhook-value")
    log.warning("secret in an argument: %s and %r", "oa-access-old", {"k": "s3cr3t-webhook-value"})
    try:
        raise RuntimeError("request with access_token=oa-access-old failed")
    except RuntimeError:
        log.exception("traceback follows")
    MASK.add("oa-access-new")  # renewed at run time
    log.error("renewed: %s", "oa-access-new", stack_info=True)
    log.error(ValueError("an exception object as the message: oa-access-new"))
    out = captured()
    for value in ("s3cr3t-webhook-value", "oa-access-old", "oa-access-new"):
        assert value not in out, out
    assert "RuntimeError: request with access_token=*** failed" in out
    assert "Traceback (most recent call last)" in out and "Stack (most recent call last)" in out


def test_console_sign_in_links_and_session_cookies_are_masked(
    captured: Callable[[], str],
) -> None:
    log = logging.getLogger("tests.secrets")
    # PTB logs every sendMessage's text at DEBUG: the /console answer carries a sign-in link.
    log.debug("sendMessage {'text': 'Open https://x.vn/console/login/Ab-c_9xYz12345 now'}")
    log.debug("Cookie: ndc_session=Zz9-secretsession; lang=vi")
    out = captured()
    assert "Ab-c_9xYz12345" not in out and "Zz9-secretsession" not in out, out
    assert "/console/login/*** now" in out and "ndc_session=***; lang=vi" in out, out


def test_a_bad_format_string_still_masks_its_arguments(captured: Callable[[], str]) -> None:
    MASK.add("s3cr3t-webhook-value")
    logging.getLogger("tests.secrets").info("one %s two %s", "s3cr3t-webhook-value")
    out = captured()
    assert "s3cr3t-webhook-value" not in out and "unformattable" in out, out


def test_short_or_empty_values_do_not_blank_the_log(captured: Callable[[], str]) -> None:
    MASK.add("", "ab")
    logging.getLogger("tests.secrets").info("a normal line about abc")
    assert "a normal line about abc" in captured()


def test_configure_logging_quiets_http_clients_and_protects_every_handler() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    extra = logging.StreamHandler(io.StringIO())
    logging.getLogger("some.library").addHandler(extra)
    stream = io.StringIO()
    try:
        settings = Settings(telegram_token="123:" + "A" * 30, zalo_app_secret="app-secret-xyz")
        configure_logging(settings, stream=stream)
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("httpcore").level == logging.WARNING
        assert any(isinstance(f, SecretFilter) for f in extra.filters)
        logging.getLogger("bot.x").info("app secret app-secret-xyz, token %s", "A" * 30)
        assert "app-secret-xyz" not in stream.getvalue()
        assert "A" * 30 not in stream.getvalue()
        assert "app secret ***" in stream.getvalue()
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[0]:
                root.removeHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("some.library").removeHandler(extra)
        sys.excepthook, threading.excepthook = hooks
        MASK.clear()


def test_every_secret_setting_is_known_as_one() -> None:
    values = {
        "telegram_token": "123:" + "T" * 30,
        "telegram_webhook_secret": "w" * 20,
        "zalo_oa_access_token": "oa-access",
        "zalo_oa_refresh_token": "oa-refresh",
        "zalo_app_secret": "app-secret",
        "zalo_oa_secret_key": "oa-key",
        "zalo_bot_token": "1:zbot",
        "zalo_bot_webhook_secret": "zbot-webhook",
    }
    assert set(Settings(**values).secrets()) == set(values.values())  # type: ignore[arg-type]


# --- the whole bot, as `python -m bot` ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    """Wait for a condition the bot's work makes true (checked every few milliseconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeTelegram, FakeZaloOA, FakeZaloBot]]:
    async with (
        FakeTelegram() as tg,
        FakeZaloOA() as oa,
        FakeZaloBot(token="1234567890:zbot-" + secrets.token_hex(12)) as zbot,
    ):
        oa.oa_secret_key = "oa-key-" + secrets.token_hex(12)
        oa.app_secret = "app-secret-" + secrets.token_hex(12)
        oa.access_token = "oa-access-" + secrets.token_hex(12)
        oa.refresh_token = "oa-refresh-" + secrets.token_hex(12)
        yield tg, oa, zbot


async def _seed(data_dir: Path, tg: FakeTelegram) -> int:
    """A farmer with a listing whose photos live on Telegram; returns its public slug."""
    app = make_app(data_dir)
    try:
        await farmer(app)
        photos = [f"tg:{tg.add_file(TINY_PNG, file_id=f'PHOTO{i}')}" for i in range(2)]
        listing = stored(app, user_id(app, "web:farmer1"), photos=photos)[0]
        assert listing.slug
        return listing.slug
    finally:
        await app.stop()


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
async def test_the_running_bot_logs_no_secret(
    fakes: tuple[FakeTelegram, FakeZaloOA, FakeZaloBot],
    tmp_path: Path,
    level: str,
    webhook: bool,
) -> None:
    tg, oa, zbot = fakes
    data_dir = tmp_path / "data"
    slug = await _seed(data_dir, tg)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(data_dir),
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "LOG_LEVEL": level,
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "ZALO_APP_ID": oa.app_id,
        "ZALO_APP_SECRET": oa.app_secret,
        "ZALO_OA_SECRET_KEY": oa.oa_secret_key,
        "ZALO_OA_ACCESS_TOKEN": oa.access_token,
        "ZALO_OA_REFRESH_TOKEN": oa.refresh_token,
        "ZALO_API_BASE_URL": oa.url,
        "ZALO_OAUTH_BASE_URL": oa.url,
        "ZALO_BOT_TOKEN": zbot.token,
        "ZALO_BOT_API_BASE_URL": zbot.url,
    }
    if webhook:
        env["TELEGRAM_WEBHOOK_URL"] = "https://bot.example.org/webhooks/telegram"
        env["TELEGRAM_WEBHOOK_SECRET"] = "tg-hook-" + secrets.token_hex(12)
        env["PUBLIC_BASE_URL"] = "https://bot.example.org"
        env["ZALO_BOT_WEBHOOK_SECRET"] = "zb-hook-" + secrets.token_hex(12)
    configured = [v for k, v in env.items() if "TOKEN" in k or "SECRET" in k]
    oa.webhook_url = f"{base}/webhooks/zalo-oa"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = bytearray()
    running = asyncio.Event()

    async def read() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            output.extend(line)
            if b"is running" in line:
                running.set()

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(running.wait(), 30)
        await _until(lambda: bool(tg.webhook.get("url")) == webhook, "the Telegram mode")
        async with aiohttp.ClientSession() as http:
            # Telegram: a user talks; a photo whose getFile fails, then one that works.
            update = tg.build.text(TG_USER, "/start")
            if webhook:
                url = f"{base}/webhooks/telegram"
                assert await tg.post_webhook(url, update, env["TELEGRAM_WEBHOOK_SECRET"]) == 200
                assert await tg.post_webhook(url, tg.build.text(TG_USER, "hi"), "wrong") == 401
            else:
                tg.push_update(update)
            await tg.wait_for(TG_USER)
            tg.fail_next("getFile", error_code=400, retry_after=None, description="Bad Request")
            async with http.get(f"{base}/p/{slug}/photo/0") as response:
                assert response.status == 404
            async with http.get(f"{base}/p/{slug}/photo/1") as response:
                assert response.status == 200
            # Zalo OA: the access token has expired, so the answer renews it.
            oa.expire_token()
            await oa.say("oa-user-1", "xin chao")
            await _until(lambda: bool(oa.texts("oa-user-1")), "the OA answer")
            assert oa.refreshes == 2  # at start-up (a pair of unknown age) and on -220
            # Zalo Bot: one failed poll (webhook mode: a post), then a message.
            if webhook:
                url = f"{base}/webhooks/zalo-bot"
                hook = zbot.update("zb-user-1", "xin chao")
                assert await zbot.post_webhook(url, hook, env["ZALO_BOT_WEBHOOK_SECRET"]) == 200
            else:
                zbot.fail_updates = 1
                zbot.push(zbot.update("zb-user-1", "xin chao"))
            await _until(lambda: bool(zbot.texts("zb-user-1")), "the Zalo Bot answer")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        await reader
    log = output.decode("utf-8", "replace")
    assert proc.returncode == 0, log
    assert "could not fetch photo" in log, log  # the failing getFile was logged
    if level == "DEBUG":
        assert "Set Bot API URL" in log, log  # PTB's own debug lines were in the capture
    for value in [*configured, oa.access_token, oa.refresh_token]:
        assert value not in log, f"{value!r} in the log:\n{log}"
    # The bot id part of a Telegram token is no secret, but the whole token must not appear.
    assert tg.token.split(":", 1)[1] not in log


async def test_a_rejected_token_crash_shows_no_token(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    wrong = "123456789:" + "R" * 35
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(tmp_path / "data"),
        "WEB_PORT": str(_free_port()),
        "TELEGRAM_BOT_TOKEN": wrong,
        "TELEGRAM_API_BASE_URL": fake_telegram.base_url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode("utf-8", "replace")
    assert proc.returncode != 0, text
    assert "rejected" in text, text  # PTB's InvalidToken: "The token `...` was rejected"
    assert "R" * 35 not in text, text
    fake_telegram.violations.clear()


def test_renewed_zalo_oa_tokens_are_masked_from_the_moment_they_exist(tmp_path: Path) -> None:
    from bot.channels.zalo_oa_state import OAToken, TokenFile

    try:
        TokenFile(tmp_path / "t.json", OAToken("a", "r")).save(OAToken("new-access", "new-ref"))
        assert MASK("token new-access, refresh new-ref") == "token ***, refresh ***"
        MASK.clear()  # a restart: the stored pair is read back
        loaded = TokenFile(tmp_path / "t.json", OAToken("a", "r")).load()
        assert loaded.access_token == "new-access"
        assert MASK("token new-access, refresh new-ref") == "token ***, refresh ***"
    finally:
        MASK.clear()
