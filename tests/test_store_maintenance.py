"""Compaction while writing, backups of a running store, restores into an empty DATA_DIR."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tinydb import where

from bot.storage.backup import backup, restore, verify
from bot.storage.compact import compact
from bot.storage.db import Store, StoreError, StoreLocked
from bot.storage.files import listing
from bot.storage.table import LogTable
from tests.helpers.store_checks import as_dict, assert_indexes_agree

INDEXES = ("phone", "area", "ident")


def users_of(store: Store) -> LogTable:
    table = store.table("users", indexes=INDEXES)
    assert isinstance(table, LogTable)
    return table


def churn(users: LogTable, rng: random.Random, steps: int) -> None:
    """Random inserts, updates and removes."""
    for _ in range(steps):
        live = list(users._docs)
        roll = rng.random()
        if roll < 0.5 or not live:
            users.insert(
                {
                    "phone": f"+849{rng.randrange(10**8):08d}",
                    "area": rng.choice(["cao-loc", "bac-son", "van-quan"]),
                    "ident": [f"zalo:{rng.randrange(1000)}"],
                    "note": "ngô " * rng.randrange(50),
                }
            )
        elif roll < 0.85:
            users.update({"area": rng.choice(["dinh-lap", "cao-loc"])}, doc_ids=[rng.choice(live)])
        else:
            users.remove(doc_ids=[rng.choice(live)])


def test_compaction_while_writing_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(5)
    with Store(tmp_path, compact_min_bytes=20_000) as store:
        users = users_of(store)
        churn(users, rng, 300)
        store.engine.wait_compaction()  # the threshold may already have started one
        assert store.compact(wait=False)
        assert store.engine.compacting
        churn(users, rng, 300)  # while the child folds the old segments
        churn(users, rng, 1500)  # crosses the threshold again: automatic compactions
        store.engine.wait_compaction()
        assert store.engine.compactions >= 2
        expected = as_dict(users)
        users.truncate()
        users.insert_multiple(expected[i] for i in sorted(expected))
        users.remove(where("area") == "dinh-lap")
        expected = as_dict(users)
    snaps, logs = listing(tmp_path)
    assert len(snaps) == 1 and min(logs) == max(snaps), "old files are removed"
    assert not list(tmp_path.glob("*.tmp"))
    with Store(tmp_path) as store:
        users = users_of(store)
        assert as_dict(users) == expected
        assert_indexes_agree(store, users)


def test_the_compaction_fold_is_exact(tmp_path: Path) -> None:
    rng = random.Random(8)
    with Store(tmp_path) as store:
        users = users_of(store)
        churn(users, rng, 400)
        store.compact()  # snapshot 2, then more writes in segment 2
        churn(users, rng, 100)
        expected = as_dict(users)
    assert sorted(listing(tmp_path)[1]) == [2]
    # What the child process runs, in this process: snapshot 2 + segment 2 become snapshot 3.
    assert compact(tmp_path, 3) == len(expected)
    assert sorted(listing(tmp_path)[0]) == [3] and not listing(tmp_path)[1]
    with Store(tmp_path) as store:
        users = users_of(store)
        assert as_dict(users) == expected
        assert_indexes_agree(store, users)


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    rng = random.Random(9)
    data, copy = tmp_path / "data", tmp_path / "copy"
    with Store(data) as store:
        users = users_of(store)
        churn(users, rng, 200)
        assert store.backup(tmp_path / "b1.jsonl") == len(users)
        churn(users, rng, 50)  # after the backup: not in it
        before = as_dict(users)
        schema = store.schema
        assert backup(data, tmp_path / "b2.jsonl") == len(before)  # lock-free, as the CLI runs
    assert verify(tmp_path / "b2.jsonl") == len(before)
    assert restore(tmp_path / "b2.jsonl", copy) == len(before)
    with Store(copy) as store:
        users = users_of(store)
        assert as_dict(users) == before
        assert store.schema == schema
        assert_indexes_agree(store, users)
        new_id = users.insert({"phone": "+84900000000"})
        assert new_id > max(before), "restored id counters never reuse ids"


def test_restore_refuses_a_used_dir_and_a_damaged_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        users_of(store).insert({"phone": "+841"})
        store.backup(tmp_path / "ok.jsonl")
        with pytest.raises(StoreLocked):
            restore(tmp_path / "ok.jsonl", data)
    with pytest.raises(StoreError, match="not empty"):
        restore(tmp_path / "ok.jsonl", data)
    good = (tmp_path / "ok.jsonl").read_bytes()
    (tmp_path / "cut.jsonl").write_bytes(good[: len(good) - 20])
    with pytest.raises(StoreError):
        restore(tmp_path / "cut.jsonl", tmp_path / "empty1")
    (tmp_path / "other.jsonl").write_bytes(b'{"not": "a backup"}\n')
    with pytest.raises(StoreError):
        restore(tmp_path / "other.jsonl", tmp_path / "empty2")
    with pytest.raises(StoreError):
        backup(tmp_path / "missing", tmp_path / "x.jsonl")
