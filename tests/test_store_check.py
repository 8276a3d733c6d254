"""Damaged store files: torn tails, unterminated records, `store check` and `store repair`."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from bot.storage.db import Store
from bot.storage.errors import StoreError
from bot.store_cli import run_store
from tests.helpers.store_checks import as_dict

ROOT = Path(__file__).resolve().parents[1]
SEGMENT = "log-00000001.jsonl"


def seeded(data_dir: Path, count: int = 10) -> None:
    """A store with `count` users, phones +8400..., closed."""
    with Store(data_dir) as store:
        users = store.table("users")
        for i in range(count):
            users.insert({"phone": f"+84{i:02d}", "name": f"Người {i}"})


def flip(path: Path, marker: bytes) -> int:
    """Change one byte inside the record holding `marker`; return where that record starts."""
    data = bytearray(path.read_bytes())
    at = data.index(marker)
    data[at + 1] ^= 1
    path.write_bytes(bytes(data))
    return data.rindex(b"\n", 0, at) + 1


def phones(data_dir: Path) -> list[str]:
    with Store(data_dir) as store:
        return [d["phone"] for d in as_dict(store.table("users")).values()]


def test_a_torn_tail_is_dropped_with_a_warning_naming_its_size(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seeded(tmp_path)
    torn = b'0badc0de ["users","i",{"99":{"pho'
    with (tmp_path / SEGMENT).open("ab") as f:
        f.write(torn)
    with caplog.at_level(logging.WARNING), Store(tmp_path) as store:
        assert len(store.table("users")) == 10
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert f"{len(torn)} bytes" in warnings[0] and SEGMENT in warnings[0]


def test_a_whole_final_record_without_its_newline_is_kept(tmp_path: Path) -> None:
    seeded(tmp_path)
    segment = tmp_path / SEGMENT
    segment.write_bytes(segment.read_bytes().removesuffix(b"\n"))
    with Store(tmp_path) as store:
        users = store.table("users")
        assert len(users) == 10  # the last insert was whole: kept
        users.insert({"phone": "+8410"})  # and the next record starts on its own line
    assert phones(tmp_path) == [f"+84{i:02d}" for i in range(11)]


def test_check_says_ok_for_a_healthy_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(tmp_path)
    assert run_store(tmp_path, "check") == 0
    out = capsys.readouterr().out
    assert SEGMENT in out and "ok" in out and "DAMAGED" not in out


def test_check_reports_damage_in_the_middle_of_a_log_with_its_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(tmp_path)
    offset = flip(tmp_path / SEGMENT, b"+8404")
    assert run_store(tmp_path, "check") == 1
    out = capsys.readouterr().out
    assert f"{SEGMENT}: DAMAGED at byte {offset}" in out, out
    assert "5 intact records after it" in out, out


def test_check_reports_damage_in_a_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(tmp_path)
    with Store(tmp_path) as store:
        store.engine.compact(wait=True)
    snap = tmp_path / "snap-00000002.jsonl"
    offset = flip(snap, b"+8407")
    assert run_store(tmp_path, "check") == 1
    assert f"snap-00000002.jsonl: DAMAGED at byte {offset}" in capsys.readouterr().out
    with pytest.raises(StoreError):
        Store(tmp_path)


def test_repair_keeps_what_came_before_and_moves_the_rest_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(tmp_path)
    segment = tmp_path / SEGMENT
    before = segment.read_bytes()
    offset = flip(segment, b"+8404")
    assert run_store(tmp_path, "repair") == 0
    out = capsys.readouterr().out
    aside = [p for p in tmp_path.iterdir() if p.name.startswith(SEGMENT + ".damaged-")]
    assert len(aside) == 1, list(tmp_path.iterdir())
    assert aside[0].name in out and "6 records" in out, out  # the damaged one and 5 after it
    assert segment.read_bytes() == before[:offset]
    assert len(aside[0].read_bytes()) == len(before) - offset
    assert oct(aside[0].stat().st_mode & 0o777) == "0o600"
    assert phones(tmp_path) == [f"+84{i:02d}" for i in range(4)]
    assert run_store(tmp_path, "check") == 0


def test_repair_of_a_damaged_snapshot_keeps_its_whole_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(tmp_path, count=1200)  # more than one chunk of documents in the snapshot
    with Store(tmp_path) as store:
        store.engine.compact(wait=True)
        store.table("users").insert({"phone": "+84-after"})
    flip(tmp_path / "snap-00000002.jsonl", b"+84700")  # in the second chunk
    assert run_store(tmp_path, "repair") == 0
    out = capsys.readouterr().out
    assert "log-00000002.jsonl" in out, out  # written on top of the lost part: moved aside too
    kept = phones(tmp_path)
    assert kept == [f"+84{i:02d}" for i in range(500)], kept[-3:]
    assert run_store(tmp_path, "check") == 0


def test_repair_refuses_while_the_bot_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(tmp_path)
    with Store(tmp_path):
        assert run_store(tmp_path, "repair") == 2
    assert "running" in capsys.readouterr().err


async def test_the_command_line_exit_codes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seeded(data_dir)
    flip(data_dir / SEGMENT, b"+8404")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "DATA_DIR": str(data_dir)}

    async def run(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode is not None
        return proc.returncode, out.decode()

    code, out = await run("run")  # the bot refuses to start, and says what to do
    assert code == 2 and "store repair" in out, out
    assert (await run("store", "check"))[0] == 1
    assert (await run("store", "repair"))[0] == 0
    assert (await run("store", "check"))[0] == 0


def test_check_works_while_the_bot_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(tmp_path)
    with Store(tmp_path) as store:
        store.table("users").insert({"phone": "+8499"})
        assert run_store(tmp_path, "check") == 0
    assert "log-00000001.jsonl: ok, " in capsys.readouterr().out
