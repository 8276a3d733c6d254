"""Disk full and permission denied during writes: an error, nothing damaged, then recovery."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.storage import log as log_module
from bot.storage.db import Store, StoreError
from bot.storage.table import LogTable
from tests.helpers.store_checks import as_dict, assert_indexes_agree


class Disk:
    """Simulated disk trouble: the next write stores `allow` bytes, then fails with `err`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failing: int | None = None
        self.allow = 0
        self.sync_fails: int | None = None
        self.truncate_fails = False
        monkeypatch.setattr(log_module, "_os_write", self._write)
        monkeypatch.setattr(log_module, "_os_sync", self._sync)
        monkeypatch.setattr(log_module, "_os_truncate", self._truncate)

    def _write(self, fd: int, data: Any) -> int:
        if self.failing is None:
            return os.write(fd, data)
        if self.allow:
            written = os.write(fd, data[: self.allow])
            self.allow -= written
            return written
        raise OSError(self.failing, os.strerror(self.failing))

    def _sync(self, fd: int) -> None:
        if self.sync_fails is not None:
            raise OSError(self.sync_fails, os.strerror(self.sync_fails))
        os.fdatasync(fd)

    def _truncate(self, fd: int, size: int) -> None:
        if self.truncate_fails:
            raise OSError(errno.ENOSPC, "no space")
        os.ftruncate(fd, size)

    def heal(self) -> None:
        """Space is back."""
        self.failing = self.sync_fails = None
        self.truncate_fails = False


def seeded(tmp_path: Path) -> tuple[Store, LogTable]:
    store = Store(tmp_path)
    users = store.table("users", indexes=("phone", "area"))
    assert isinstance(users, LogTable)
    users.insert_multiple(
        [{"phone": "+841", "area": "cao-loc"}, {"phone": "+842", "area": "bac-son"}]
    )
    return store, users


WRITES: dict[str, Callable[[LogTable], object]] = {
    "insert": lambda t: t.insert({"phone": "+843", "area": "cao-loc"}),
    "update": lambda t: t.update({"area": "van-quan"}, doc_ids=[1]),
    "remove": lambda t: t.remove(doc_ids=[2]),
    "truncate": lambda t: t.truncate(),
}


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize(
    ("err", "allow", "message"),
    [
        (errno.ENOSPC, 0, "disk full"),
        (errno.ENOSPC, 7, "disk full"),
        (errno.EACCES, 0, "permission"),
    ],
)
def test_failed_write_changes_nothing_and_the_store_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: str, err: int, allow: int, message: str
) -> None:
    disk = Disk(monkeypatch)
    store, users = seeded(tmp_path)
    before = as_dict(users)
    disk.failing, disk.allow = err, allow
    with pytest.raises(StoreError, match=message):
        WRITES[write](users)
    assert as_dict(users) == before
    assert_indexes_agree(store, users)
    with pytest.raises(StoreError):
        users.insert({"phone": "+849"})  # still full
    disk.heal()
    WRITES[write](users)
    after = as_dict(users)
    store.close()
    with Store(tmp_path) as reopened:
        users = reopened.table("users", indexes=("phone", "area"))  # type: ignore[assignment]
        assert as_dict(users) == after
        assert_indexes_agree(reopened, users)


def test_fsync_failure_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = Disk(monkeypatch)
    store, users = seeded(tmp_path)
    size = (tmp_path / "log-00000001.jsonl").stat().st_size
    disk.sync_fails = errno.EIO
    with pytest.raises(StoreError):
        users.update({"phone": "+840"}, doc_ids=[1])
    disk.heal()
    assert (tmp_path / "log-00000001.jsonl").stat().st_size == size
    assert users.get(doc_id=1) == {"phone": "+841", "area": "cao-loc"}
    store.close()


def test_leftover_bytes_are_cut_before_the_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk(monkeypatch)
    store, users = seeded(tmp_path)
    disk.failing, disk.allow, disk.truncate_fails = errno.ENOSPC, 12, True
    with pytest.raises(StoreError):
        users.insert({"phone": "+843"})
    disk.failing = None  # space for data is back, but the cut keeps failing
    with pytest.raises(StoreError):
        users.insert({"phone": "+844"})
    disk.heal()
    assert users.insert({"phone": "+845"}) == 3
    store.close()
    with Store(tmp_path) as reopened:
        assert as_dict(reopened.table("users")) == {
            1: {"phone": "+841", "area": "cao-loc"},
            2: {"phone": "+842", "area": "bac-son"},
            3: {"phone": "+845"},
        }


def test_torn_tail_is_dropped_on_open(tmp_path: Path) -> None:
    store, users = seeded(tmp_path)
    store.close()
    segment = tmp_path / "log-00000001.jsonl"
    with segment.open("ab") as f:
        f.write(b'0badc0de ["users","s",{"9":{"pho')
    with Store(tmp_path) as store:
        users = store.table("users")  # type: ignore[assignment]
        assert len(users) == 2
        users.insert({"phone": "+843"})
    with Store(tmp_path) as store:
        assert len(store.table("users")) == 3


def test_damage_in_the_middle_is_reported(tmp_path: Path) -> None:
    store, users = seeded(tmp_path)
    users.insert({"phone": "+843"})
    store.close()
    segment = tmp_path / "log-00000001.jsonl"
    data = bytearray(segment.read_bytes())
    data[data.index(b"+842") + 2] ^= 1
    segment.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"):
        Store(tmp_path)
