"""Everything under DATA_DIR is readable by the bot's account only: files 0600, folders 0700."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.zalo_common import publish_document
from bot.channels.zalo_oa_state import OAToken, TokenFile
from bot.core.clock import FakeClock
from bot.server import build_web_app
from bot.services.console_links import LinkDrop
from bot.services.faq_inbox import FaqInbox
from bot.services.share import write_qr
from bot.storage.backup import backup, restore
from tests.fakes.user_side import TINY_PNG
from tests.helpers.driver import make_app
from tests.listings_helpers import farmer, fill_to_summary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common default umask (0022): files the bot does not create explicitly leak."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def bad_modes(root: Path) -> list[str]:
    """Every file not 0600 and every folder not 0700 under (and including) `root`."""
    bad = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            bad.append(f"{path.relative_to(root.parent)}: {oct(mode)}")
    return bad


async def test_a_realistic_session_leaves_only_private_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = make_app(data_dir, FakeClock())
    try:
        chat = await farmer(app)
        await fill_to_summary(chat, photos=2)
        await chat.tap("lf:ok")

        async def fetch(_file_id: str) -> bytes:
            return TINY_PNG

        app.services.media.register("tg:", fetch)
        assert await app.services.media.local_file("tg:PHOTO1") is not None  # cached copy
        write_qr(app.media_dir, 1, "https://example.org/p/1")
        publish_document(app.media_dir, "https://example.org", "orders.csv", b"a,b\n", "web:1")
        LinkDrop(data_dir).issue("telegram:1", app.services.clock.now())
        inbox = FaqInbox(data_dir)
        inbox.submit_export()
        inbox.submit_import(b"question,answer,alternatives,tags\nq?,a,,\n")
        inbox.process(app.services.faq, "2026-08-01T08:00:00+07:00")
        TokenFile(data_dir / "zalo_oa_token.json", OAToken("a", "r")).save(OAToken("b", "s"))
        async with TestClient(TestServer(build_web_app(app, None))) as client:
            form = aiohttp.FormData()
            form.add_field("photo", TINY_PNG, filename="p.png", content_type="image/png")
            response = await client.post("/chat/api/photo", data=form)
            assert response.status < 500  # kept or refused: whatever it wrote is checked below
        assert any(app.media_dir.glob("*.png"))
        app.store.engine.compact(wait=True)  # a snapshot, written by the compaction child
        assert any(data_dir.glob("snap-*.jsonl"))
    finally:
        await app.stop()
    copy = tmp_path / "backup.jsonl"
    backup(data_dir, copy)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    restored = tmp_path / "restored"
    restore(copy, restored)
    assert bad_modes(data_dir) == []
    assert bad_modes(restored) == []


def test_the_oa_token_temp_file_is_never_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, int]] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src: Any, dst: Any) -> None:
        seen.append((str(src), stat.S_IMODE(os.stat(src).st_mode)))
        real_replace(src, dst)

    def fsync(fd: int) -> None:
        seen.append((f"fd {fd}", stat.S_IMODE(os.fstat(fd).st_mode)))
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    TokenFile(tmp_path / "zalo_oa_token.json", OAToken("a", "r")).save(OAToken("b", "s"))
    files = [(what, mode) for what, mode in seen if not stat.S_ISDIR(mode)]
    assert any(what.endswith(".tmp") for what, _ in seen), seen
    assert all(mode & 0o077 == 0 for _, mode in files if mode < 0o1000), seen


async def test_an_old_data_dir_is_tightened_on_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "media").mkdir(parents=True, mode=0o755)
    os.chmod(data_dir, 0o755)
    old = data_dir / "media" / "old.jpg"
    old.write_bytes(b"x")
    os.chmod(old, 0o644)
    app = make_app(data_dir, FakeClock())
    await app.stop()
    assert bad_modes(data_dir) == []


async def test_the_command_line_writes_private_backups(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = make_app(data_dir, FakeClock())
    await farmer(app)
    await app.stop()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "DATA_DIR": str(data_dir)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", str(tmp_path / "b.jsonl"), cwd=tmp_path, env=env
    )
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert stat.S_IMODE((tmp_path / "b.jsonl").stat().st_mode) == 0o600
