"""Backups and restores on PostgreSQL keep deletions deleted, as on the embedded store.

`python -m bot backup` writes the embedded store's snapshot format from the database, so the
same file restores into an empty DATA_DIR or an empty database, and its tombstones travel. A
database brought back by its own tools (`pg_dump -Fc` / `pg_restore`) from before the last
deletions is put right by `restore --tombstones NEWER`, even while the bot runs on it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.services.tombstones import Tombstone
from bot.storage.backup import read_docs
from tests.backup_helpers import delete_data, shop
from tests.helpers.cli import run_main
from tests.helpers.driver import make_app
from tests.helpers.pg_cluster import PgCluster
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.pg


def cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, *args: str, data: Path | None = None
) -> int:
    """The command line with DATABASE_URL=url ('' for the embedded store in `data`)."""
    return run_main(monkeypatch, tmp_path, data or tmp_path / "cli-data", *args, database_url=url)


async def people(url: str, data: Path, clock: FakeClock) -> set[str]:
    """Everyone's platform keys, as a bot opened on the store sees them."""
    app = make_app(data, clock, database_url=url)
    try:
        return {k for u in app.services.users.all() for k in u.ident}
    finally:
        await app.stop()


async def test_backup_of_a_database_restores_into_another_keeping_deletions(
    tmp_path: Path,
    clock: FakeClock,
    pg_url: str,
    pg_cluster: PgCluster,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = make_app(tmp_path / "live", clock, database_url=pg_url)
    await app.open()
    try:
        man, _hoa, _khoa = await shop(app)
        monday, friday = tmp_path / "monday.jsonl", tmp_path / "friday.jsonl"
        assert cli(monkeypatch, tmp_path, pg_url, "backup", str(monday)) == 0  # bot running
        assert "backup of the database written to" in capsys.readouterr().out
        await delete_data(man)
        assert cli(monkeypatch, tmp_path, pg_url, "backup", str(friday)) == 0
    finally:
        await app.stop()
    [stone] = read_docs(friday, "tombstones")
    assert Tombstone.from_doc(stone).keys == ("web:man",)
    # The same files restore into an empty DATA_DIR: the embedded store takes them as its own.
    args = ["restore", str(monday), "--tombstones", str(friday)]
    assert cli(monkeypatch, tmp_path, "", *args, data=tmp_path / "embedded") == 0
    assert await people("", tmp_path / "embedded", clock) == {"web:hoa", "web:khoa"}

    name, other = pg_cluster.create_database()
    try:
        args = ["restore", str(monday), "--tombstones", str(friday)]
        assert cli(monkeypatch, tmp_path, other, *args) == 0
        said = capsys.readouterr().out
        assert "into the database" in said and "removed from the restored store: 1" in said
        assert await people(other, tmp_path / "look", clock) == {"web:hoa", "web:khoa"}
        # The restored database carries the tombstone on, into its own backups.
        assert cli(monkeypatch, tmp_path, other, "backup", str(tmp_path / "next.jsonl")) == 0
        assert read_docs(tmp_path / "next.jsonl", "tombstones") == [stone | {"purged": True}]
        # Restoring again over it is refused: only into an empty database.
        assert cli(monkeypatch, tmp_path, other, "restore", str(monday)) == 2
        assert "only into an empty database" in capsys.readouterr().err
    finally:
        pg_cluster.drop_database(name)


async def test_a_pg_dump_older_than_a_deletion_is_put_right_while_the_bot_runs(
    tmp_path: Path,
    clock: FakeClock,
    pg_url: str,
    pg_cluster: PgCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dump = tmp_path / "monday.dump"
    app = make_app(tmp_path / "live", clock, database_url=pg_url)
    await app.open()
    try:
        man, _hoa, _khoa = await shop(app)
        pg_tool(pg_cluster, "pg_dump", "-Fc", "-f", str(dump), f"--dbname={pg_url}")
        await delete_data(man)
        friday = tmp_path / "friday.jsonl"
        assert cli(monkeypatch, tmp_path, pg_url, "backup", str(friday)) == 0
    finally:
        await app.stop()

    name, older = pg_cluster.create_database()
    try:
        pg_tool(pg_cluster, "pg_restore", "--no-owner", f"--dbname={older}", str(dump))
        running = make_app(tmp_path / "running", clock, database_url=older)
        await running.open()
        try:
            assert running.services.users.by_key("web:man") is not None  # she is back
            args = ["restore", "--tombstones", str(friday)]
            assert cli(monkeypatch, tmp_path, older, *args) == 0
            await wait_until(
                lambda: running.services.users.by_key("web:man") is None,
                "the running bot to see her erased",
            )
            assert running.services.users.by_key("web:hoa") is not None
        finally:
            await running.stop()
        assert await people(older, tmp_path / "look", clock) == {"web:hoa", "web:khoa"}
    finally:
        pg_cluster.drop_database(name)


def pg_tool(cluster: PgCluster, program: str, *args: str) -> None:
    """Run one of PostgreSQL's client programs against the test cluster."""
    done = subprocess.run(
        [str(cluster.bindir / program), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
