"""The embedded store only: its DATA_DIR lock, refused newer schemas, legacy import, raw storage.

The table API, finds, indexes and reopening are the repository contract, run on every backend
in tests/test_store_contract.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.storage.db import SCHEMA_VERSION, Store, StoreError, StoreLocked


def test_second_open_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path), pytest.raises(StoreLocked):
        Store(tmp_path)
    Store(tmp_path).close()  # the lock is released on close


def test_a_refused_newer_schema_releases_the_lock(tmp_path: Path) -> None:
    migrations = (*[lambda s: None] * SCHEMA_VERSION,)
    Store(tmp_path, migrations=migrations).close()
    with pytest.raises(StoreError, match="schema"):
        Store(tmp_path)
    Store(tmp_path, migrations=migrations).close()  # the refused open released the lock


def test_imports_the_first_versions_json_file(tmp_path: Path) -> None:
    legacy = {"users": {"1": {"name": "An"}, "4": {"name": "Bích"}}, "faq": {}}
    (tmp_path / "store.json").write_text(json.dumps(legacy), encoding="utf-8")
    with Store(tmp_path) as store:
        users = store.table("users")
        assert {d.doc_id: dict(d) for d in users.all()} == {1: {"name": "An"}, 4: {"name": "Bích"}}
        assert users.insert({"name": "Cường"}) == 5
    assert not (tmp_path / "store.json").exists()
    with Store(tmp_path) as store:
        assert len(store.table("users")) == 3


def test_storage_read_and_write_follow_the_tinydb_contract(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.table("a").insert({"x": 1})
        engine = store.engine
        assert engine.read() == {"a": {"1": {"x": 1}}}
        engine.write({"b": {"3": {"y": 2}}})
        assert engine.read() == {"a": {}, "b": {"3": {"y": 2}}}
    with Store(tmp_path) as store:
        assert store.engine.read() == {"a": {}, "b": {"3": {"y": 2}}}
