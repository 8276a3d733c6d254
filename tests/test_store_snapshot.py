"""Snapshots keep documents as bytes with their offsets and save indexes; older files still open."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import db, files
from bot.storage.codec import dumps
from bot.storage.compact import compact
from bot.storage.db import Store, StoreError
from bot.storage.engine import LogStorage
from bot.storage.files import snap_path, split_docs
from bot.storage.log import encode_line
from bot.storage.table import LogTable
from tests.helpers.store_checks import as_dict, assert_indexes_agree

INDEXES = ("phone", "ident", "area")
AREAS = ["cao-loc", "bac-son", "van-quan"]


def users_of(store: Store, indexes: tuple[str, ...] = INDEXES) -> LogTable:
    table = store.table("users", indexes=indexes)
    assert isinstance(table, LogTable)
    return table


def seed(users: LogTable, count: int) -> None:
    users.insert_multiple(
        {
            "name": f"Nông Văn {n}",
            "phone": f"+8491{n:07d}",
            "ident": [f"telegram:{n}", f"zalo:{n % 7}"],
            "area": AREAS[n % 3],
            "crops": {"lua": n},
            "note": "tab\t, newline\n,\t",  # the documents' separator, escaped inside
        }
        for n in range(count)
    )


def test_snapshot_saves_indexes_and_later_fields_are_added(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        users = users_of(store)
        seed(users, 1200)  # more than one snapshot chunk
        users.remove(doc_ids=[5, 600])
        store.table("empty")
        store.compact()
        users.update({"area": "dinh-lap"}, doc_ids=[7])  # in the segment after the snapshot
        expected = as_dict(users)
    engine = LogStorage(tmp_path, read_only=True)
    assert engine.tables["users"].indexed_fields == INDEXES, "indexes come from the snapshot"
    with Store(tmp_path) as store:
        users = users_of(store, (*INDEXES, "name"))  # a field declared after the snapshot
        assert as_dict(users) == expected
        assert_indexes_agree(store, users)
        users.update({"name": "Hoàng Thị Bích"}, doc_ids=[8])
        store.compact()
        expected = as_dict(users)
    with Store(tmp_path) as store:
        users = store.table("users")  # type: ignore[assignment]
        assert users.indexed_fields == (*INDEXES, "name")
        assert as_dict(users) == expected
        assert [d.doc_id for d in store.find(users, "name", "Hoàng Thị Bích")] == [8]
        assert_indexes_agree(store, users)
        assert users.insert({"name": "new"}) == 1201


def test_a_version_1_snapshot_opens_and_is_rewritten(tmp_path: Path) -> None:
    docs = {str(i): {"phone": f"+84{i}", "area": AREAS[i % 3]} for i in range(1, 8)}
    lines = [
        ["", "snap", {"format": "nds-store/1", "schema": 1}],
        ["users", "n", 9],
        ["users", "s", docs],
        ["", "end", {"docs": len(docs)}],
    ]
    snap_path(tmp_path, 1).write_bytes(b"".join(encode_line(dumps(x)) for x in lines))
    expected = {int(i): d for i, d in docs.items()}
    with Store(tmp_path) as store:
        users = users_of(store)
        assert as_dict(users) == expected
        assert_indexes_agree(store, users)
        assert users.insert({"phone": "+849"}) == 9
        expected[9] = {"phone": "+849"}
        store.compact()
    assert b'"ix"' in snap_path(tmp_path, 2).read_bytes()
    with Store(tmp_path) as store:
        users = users_of(store)
        assert as_dict(users) == expected
        assert_indexes_agree(store, users)


def test_indexes_saved_by_another_index_version_are_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path) as store:
        users = users_of(store)
        seed(users, 50)
        expected = as_dict(users)
    monkeypatch.setattr(files, "INDEX_VERSION", 0)
    assert compact(tmp_path, 2, {"users": INDEXES}) == 50  # what the child runs, in-process
    monkeypatch.undo()
    assert b'"ix"' in snap_path(tmp_path, 2).read_bytes()
    with Store(tmp_path) as store:
        assert store.table("users").indexed_fields == ()  # type: ignore[attr-defined]
        users = users_of(store)
        assert as_dict(users) == expected
        assert_indexes_agree(store, users)


def test_documents_that_do_not_fit_their_ids_are_damage() -> None:
    payload = b'["t","docs",[{"a":"x,y"},\t[2,3]]]'
    assert split_docs(payload, b'"t"', [1, 23]) == [(1, b'{"a":"x,y"}'), (23, b"[2,3]")]
    with pytest.raises(StoreError):
        split_docs(payload, b'"t"', [1])
    with pytest.raises(StoreError):
        split_docs(payload, b'"u"', [1, 23])


def test_every_read_returns_its_own_objects(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        users = users_of(store)
        seed(users, 3)
        reads = [
            *store.find_where(users, {"area": "cao-loc"}),
            *store.find_where(users, {"area": "cao-loc", "crops": {"lua": 0}}),
            *users.search(lambda d: True),
            *users.all(),
            *users.get(doc_ids=[1]),  # type: ignore[misc]
        ]
        for doc in reads:
            doc["ident"].append("web:x")
            doc["crops"]["ngo"] = 1
        assert users.get(doc_id=1) == {
            "name": "Nông Văn 0",
            "phone": "+84910000000",
            "ident": ["telegram:0", "zalo:0"],
            "area": "cao-loc",
            "crops": {"lua": 0},
            "note": "tab\t, newline\n,\t",
        }
        assert store.find(users, "ident", "web:x") == []


def test_an_index_built_on_open_is_saved_by_a_compaction_at_the_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "RESNAPSHOT_DOCS", 40)
    with Store(tmp_path) as store:
        seed(store.table("users"), 50)  # type: ignore[arg-type]
        store.compact()  # a snapshot without indexes, as an older version wrote them
    with Store(tmp_path) as store:
        users = users_of(store)  # built from the documents
        assert not store.engine.compacting
        users.update({"area": "dinh-lap"}, doc_ids=[3])
        store.engine.wait_compaction()
        assert store.engine.compactions == 1
        expected = as_dict(users)
    assert LogStorage(tmp_path, read_only=True).tables["users"].indexed_fields == INDEXES
    with Store(tmp_path) as store:
        users = users_of(store)  # loaded from the snapshot: nothing to save
        users.update({"area": "cao-loc"}, doc_ids=[4])
        assert not store.engine.compacting and store.engine.compactions == 0
        assert_indexes_agree(store, users)
        assert as_dict(users) == {**expected, 4: {**expected[4], "area": "cao-loc"}}
