"""Configuration: clear one-line errors and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def run_bot(
    env: dict[str, str], *args: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_defaults() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.web_port == 8080 and settings.web_host == "127.0.0.1"
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert str(settings.data_dir) == "data"
    assert settings.broadcast_claim_seconds == 60.0
    assert (
        load_settings({"BROADCAST_CLAIM_SECONDS": "5"}, env_file=None).broadcast_claim_seconds == 5
    )


def test_env_file_fills_gaps(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_PORT=9090\nADMIN_TELEGRAM_IDS=1, 2\n")
    settings = load_settings({"WEB_PORT": "9191"}, env_file=env_file)
    assert settings.web_port == 9191
    assert settings.admin_telegram_ids == frozenset({"1", "2"})


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
        ({"WEB_PORT": "eighty"}, "WEB_PORT"),
        ({"ADMIN_TELEGRAM_IDS": "abc"}, "ADMIN_TELEGRAM_IDS"),
        ({"BROADCAST_CLAIM_SECONDS": "0"}, "BROADCAST_CLAIM_SECONDS must be a positive number"),
        (
            {
                "TELEGRAM_BOT_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "TELEGRAM_WEBHOOK_URL": "https://example.org/hook",
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(env, env_file=None)


def test_cli_malformed_token_one_line_and_nonzero(tmp_path: Path) -> None:
    result = run_bot({"TELEGRAM_BOT_TOKEN": "oops", "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_cli_unwritable_data_dir(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    result = run_bot({"DATA_DIR": str(locked / "data"), "WEB_PORT": "0"})
    assert result.returncode != 0 and "DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_data_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_bot({"DATA_DIR": str(blocker), "WEB_PORT": "0"})
    assert result.returncode != 0 and "DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_bot({"DATA_DIR": str(tmp_path / "d"), "WEB_PORT": str(port)})
    assert result.returncode != 0
    assert "already in use" in result.stderr and "Traceback" not in result.stderr


def test_cli_second_process_on_same_data_dir_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        cwd=ROOT,
        env={**os.environ, "DATA_DIR": str(data)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        first.stdout.readline()  # the greeting: the store is open and locked
        result = run_bot({"DATA_DIR": str(data), "WEB_PORT": "0"})
        assert result.returncode != 0
        assert "another bot process" in result.stderr and "Traceback" not in result.stderr
    finally:
        first.kill()
        first.wait()


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    data = tmp_path / "live"
    chat = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--name", "Lan"],
        cwd=ROOT,
        env={**os.environ, "DATA_DIR": str(data)},
        input="Lan\nchi\n0912345678\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0
    snapshot = tmp_path / "snap.bak"
    made = run_bot({"DATA_DIR": str(data)}, "backup", str(snapshot))
    assert made.returncode == 0 and snapshot.is_file()
    restored = run_bot({"DATA_DIR": str(tmp_path / "new")}, "restore", str(snapshot))
    assert restored.returncode == 0, restored.stderr
    again = run_bot({"DATA_DIR": str(tmp_path / "new")}, "restore", str(snapshot))
    assert again.returncode != 0 and "empty" in again.stderr and "Traceback" not in again.stderr

    from bot.storage.db import Store

    with Store(tmp_path / "new") as store:
        users = store.table("users").all()
    assert [u["phone"] for u in users] == ["+84912345678"]


def test_media_dir_defaults_under_data_dir_and_may_be_a_shared_path() -> None:
    assert load_settings({"DATA_DIR": "/srv/nds"}, env_file=None).media_dir == Path(
        "/srv/nds/media"
    )
    shared = load_settings({"DATA_DIR": "/srv/nds", "MEDIA_DIR": "/mnt/nfs/media"}, env_file=None)
    assert shared.media_dir == Path("/mnt/nfs/media")
