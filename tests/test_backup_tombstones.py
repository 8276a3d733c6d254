"""Restoring a backup never brings back someone who deleted their data since (tombstones)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.services.tombstones import Tombstone
from bot.services.users import User
from bot.storage.backup import read_docs
from tests.backup_helpers import delete_data, man_needles, shop
from tests.helpers.cli import run_main
from tests.helpers.disk import leaks
from tests.helpers.driver import Chat, make_app


def _people(data: Path, clock: FakeClock) -> dict[str, int]:
    """Who a store holds, by key, and the orders' farmer ids (opened and closed again)."""
    app = make_app(data, clock)
    try:
        keys = {k: u.id for u in app.services.users.all() for k in u.ident}
        orders = app.store.table("orders").all()
        keys["orders from farmer 0"] = sum(1 for d in orders if not d.get("farmer_id"))
        keys["listings"] = len(app.services.listings.all())
        return keys
    finally:
        app.store.close()


async def test_restore_applies_the_tombstones_of_a_newer_backup(
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = tmp_path / "live"
    app = make_app(live, clock)
    man, _hoa, _khoa = await shop(app)
    app.store.backup(tmp_path / "monday.jsonl")
    await delete_data(man)
    app.store.backup(tmp_path / "friday.jsonl")
    await app.stop()
    stones = read_docs(tmp_path / "friday.jsonl", "tombstones")
    assert len(stones) == 1 and set(stones[0]) >= {"user_id", "keys", "at"}
    assert leaks(tmp_path, man_needles()) != [], "Monday's backup holds her, as backups do"
    friday = (tmp_path / "friday.jsonl").read_bytes()
    assert all(v not in friday for vs in man_needles().values() for v in vs)

    # Without the newer tombstones, Monday's backup brings her back...
    plain = tmp_path / "plain"
    assert run_main(monkeypatch, tmp_path, plain, "restore", str(tmp_path / "monday.jsonl")) == 0
    assert "web:man" in _people(plain, clock)
    assert "--tombstones NEWER" in capsys.readouterr().err  # the operator is told how not to
    # ...with them, she stays deleted, and nothing of hers is left in the restored files.
    restored = tmp_path / "restored"
    args = [
        "restore",
        str(tmp_path / "monday.jsonl"),
        "--tombstones",
        str(tmp_path / "friday.jsonl"),
    ]
    assert run_main(monkeypatch, tmp_path, restored, *args) == 0
    said = capsys.readouterr().out
    assert "1 newer deletion(s) read" in said and "removed from the restored store: 1" in said
    people = _people(restored, clock)
    assert "web:man" not in people and {"web:hoa", "web:khoa"} <= set(people)
    assert people["orders from farmer 0"] == 1 and people["listings"] == 0
    assert leaks(restored, man_needles()) == []
    modes = {stat.S_IMODE(p.stat().st_mode) for p in restored.rglob("*") if p.is_file()}
    assert modes == {0o600}, modes  # what the restore and its compaction wrote is private
    # The restored store carries the tombstone on, into its own backups.
    assert run_main(monkeypatch, tmp_path, restored, "backup", str(tmp_path / "next.jsonl")) == 0
    carried = read_docs(tmp_path / "next.jsonl", "tombstones")
    assert [Tombstone.from_doc(d) for d in carried] == [Tombstone.from_doc(d) for d in stones]


async def test_restore_takes_tombstones_from_the_running_store(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / "live"
    app = make_app(live, clock)
    try:
        man, _hoa, _khoa = await shop(app)
        app.store.backup(tmp_path / "monday.jsonl")
        await delete_data(man)
        restored = tmp_path / "restored"
        args = ["restore", str(tmp_path / "monday.jsonl"), "--tombstones", str(live)]
        assert run_main(monkeypatch, tmp_path, restored, *args) == 0  # the bot holds `live` open
        people = _people(restored, clock)
        assert "web:man" not in people and "web:hoa" in people
        assert leaks(restored, man_needles()) == []
    finally:
        await app.stop()


async def test_restore_applies_the_backups_own_tombstones_but_spares_who_came_back(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path / "live", clock)
    man, hoa, _khoa = await shop(app)
    await delete_data(man)
    clock.advance(hours=1)
    again = Chat(app, "web:man", "Mận")  # signs up again from the same account: a new person
    await again.onboard(phone="0938000000")
    # A deletion cut short after its tombstone was written: Hoa's data is still there.
    user = app.services.users.by_key(hoa.user_key)
    assert user is not None
    app.services.tombstones.add(user, clock.now().isoformat())
    app.store.backup(tmp_path / "b.jsonl")
    await app.stop()
    restored = tmp_path / "restored"
    assert run_main(monkeypatch, tmp_path, restored, "restore", str(tmp_path / "b.jsonl")) == 0
    people = _people(restored, clock)
    assert "web:hoa" not in people and "web:man" in people and "web:khoa" in people


async def test_restore_refuses_tombstones_it_cannot_read_before_touching_data_dir(
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = make_app(tmp_path / "live", clock)
    app.store.backup(tmp_path / "b.jsonl")
    await app.stop()
    (tmp_path / "junk.txt").write_text("not a backup <b>&</b>\n")
    (tmp_path / "empty").mkdir()  # a directory, but no DATA_DIR of a store
    restored = tmp_path / "restored"
    for newer in ("junk.txt", "missing.jsonl", "empty"):
        args = ["restore", str(tmp_path / "b.jsonl"), "--tombstones", str(tmp_path / newer)]
        assert run_main(monkeypatch, tmp_path, restored, *args) == 2
        assert newer in capsys.readouterr().err
        assert not restored.exists() or list(restored.iterdir()) == []


def test_a_tombstone_covers_its_person_not_who_signed_up_again_later() -> None:
    stone = Tombstone(7, ("telegram:42",), "2026-11-26T08:00:00+00:00")
    assert stone.covers(User(id=7, created_at="2026-11-01T08:00:00+00:00"))
    assert stone.covers(User(id=3, ident=["telegram:42"], created_at="2026-11-01T08:00:00"))
    assert stone.covers(User(id=3, ident=["telegram:42"], created_at=""))  # older versions
    assert not stone.covers(User(id=9, ident=["telegram:42"], created_at="2026-11-27T08:00"))
    assert not stone.covers(User(id=8, ident=["telegram:43"], created_at="2026-11-01T08:00"))
    assert Tombstone.from_doc(stone.doc() | {"purged": True}) == stone


async def test_tombstones_alone_are_applied_to_the_store_as_it_is(
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = make_app(tmp_path / "live", clock)
    man, _hoa, _khoa = await shop(app)
    app.store.backup(tmp_path / "monday.jsonl")
    await delete_data(man)
    app.store.backup(tmp_path / "friday.jsonl")
    await app.stop()
    older = tmp_path / "older"  # brought back by other means, from before her deletion
    assert run_main(monkeypatch, tmp_path, older, "restore", str(tmp_path / "monday.jsonl")) == 0
    assert "web:man" in _people(older, clock)
    capsys.readouterr()
    args = ["restore", "--tombstones", str(tmp_path / "friday.jsonl")]
    assert run_main(monkeypatch, tmp_path, older, *args) == 0
    assert f"removed from {older}: 1" in capsys.readouterr().out
    people = _people(older, clock)
    assert "web:man" not in people and {"web:hoa", "web:khoa"} <= set(people)
    assert leaks(older, man_needles()) == []
    assert run_main(monkeypatch, tmp_path, older, "restore") == 2  # neither FILE nor tombstones
    assert "--tombstones NEWER" in capsys.readouterr().err
