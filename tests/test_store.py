"""The store through the TinyDB Table API: CRUD, indexes, reopen, schema and migrations."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB, where
from tinydb.storages import MemoryStorage
from tinydb.table import Document, Table

from bot.storage.db import SCHEMA_VERSION, Store, StoreError, StoreLocked
from bot.storage.table import LogTable
from tests.helpers.store_checks import as_dict, assert_indexes_agree


def users_of(store: Store) -> LogTable:
    """The users table with the indexes the repositories declare."""
    table = store.table("users", indexes=("ident", "phone", "area"))
    assert isinstance(table, LogTable)
    return table


def test_table_api_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        users = users_of(store)
        an = users.insert({"name": "Nguyễn Văn An", "phone": "+84912000001", "area": "cao-loc"})
        ids = users.insert_multiple(
            [{"name": "Hoàng Thị Bích", "area": "loc-binh"}, {"name": "Vi Văn Cường"}]
        )
        assert [an, *ids] == [1, 2, 3]
        assert users.get(doc_id=an) == {
            "name": "Nguyễn Văn An",
            "phone": "+84912000001",
            "area": "cao-loc",
        }
        assert users.get(doc_id=99) is None
        assert users.get(where("name") == "Vi Văn Cường").doc_id == 3  # type: ignore[union-attr]
        assert [d.doc_id for d in users.get(doc_ids=[3, 1])] == [3, 1]  # type: ignore[union-attr]
        assert users.contains(doc_id=2) and not users.contains(doc_id=7)
        assert users.contains(where("area") == "loc-binh")
        assert users.update({"area": "van-quan"}, doc_ids=[2, 42]) == [2]
        assert users.update({"consent": True}, where("area") == "van-quan") == [2]
        assert users.update(lambda d: d.update(n=len(d["name"])), doc_ids=[3]) == [3]
        assert users.get(doc_id=3) == {"name": "Vi Văn Cường", "n": 12}
        assert users.upsert({"phone": "+84912000003"}, where("name") == "Vi Văn Cường") == [3]
        assert users.upsert({"name": "Lò Thị Dung"}, where("name") == "Lò Thị Dung") == [4]
        assert users.count(where("phone").exists()) == 2
        assert len(users) == 4
        assert users.remove(doc_ids=[4, 77]) == [4]
        assert users.remove(where("name") == "Hoàng Thị Bích") == [2]
        assert sorted(d.doc_id for d in users.all()) == [1, 3]
        assert [d.doc_id for d in users.search(where("phone").matches(r"\+849"))] == [1, 3]
        before = as_dict(users)
    with Store(tmp_path) as store:
        users = users_of(store)
        assert as_dict(users) == before
        assert users.insert({"name": "new"}) == 5, "ids are never reused, even after reopening"
        users.truncate()
        assert len(users) == 0
        assert users.insert({"name": "after truncate"}) == 6
    with Store(tmp_path) as store:
        assert as_dict(users_of(store)) == {6: {"name": "after truncate"}}


def test_explicit_ids_and_duplicates(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        table = store.table("t")
        assert table.insert(Document({"a": 1}, 10)) == 10
        assert table.insert({"a": 2}) == 11
        with pytest.raises(ValueError):
            table.insert(Document({"a": 3}, 10))
        with pytest.raises(ValueError):
            table.insert_multiple([{"a": 4}, Document({"a": 5}, 12)])
        assert len(table) == 2, "a rejected batch writes nothing"
        with pytest.raises(ValueError):
            table.insert(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_returned_documents_are_copies(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        users = users_of(store)
        doc_id = users.insert({"ident": ["telegram:1"], "crops": {"lua": 2}})
        doc = users.get(doc_id=doc_id)
        assert isinstance(doc, Document)
        doc["ident"].append("zalo:9")
        doc["crops"]["ngo"] = 1
        assert users.get(doc_id=doc_id) == {"ident": ["telegram:1"], "crops": {"lua": 2}}
        assert store.find(users, "ident", "zalo:9") == []
        fields: dict[str, Any] = {"tags": ["a"]}
        users.update(fields, doc_ids=[doc_id])
        fields["tags"].append("b")
        stored = users.get(doc_id=doc_id)
        assert stored == {"ident": ["telegram:1"], "crops": {"lua": 2}, "tags": ["a"]}


def test_find_uses_equality_and_list_membership(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        users = users_of(store)
        users.insert_multiple(
            [
                {"ident": ["telegram:1", "zalo:1"], "phone": "+841", "area": "cao-loc"},
                {"ident": ["telegram:2"], "phone": "+842", "area": "cao-loc"},
                {"ident": [], "area": "bac-son"},
            ]
        )
        assert [d.doc_id for d in store.find(users, "ident", "zalo:1")] == [1]
        assert [d.doc_id for d in store.find(users, "area", "cao-loc")] == [1, 2]
        assert store.find(users, "phone", "+849") == []
        # Not indexed: the same answers by a scan.
        assert [d.doc_id for d in store.find(users, "ident", "telegram:2")] == [2]
        both = {"area": "cao-loc", "ident": "telegram:2"}
        assert [d.doc_id for d in store.find_where(users, both)] == [2]
        assert store.count_where(users, {"area": "cao-loc", "phone": "+841"}) == 1
        assert store.count_where(users, {"area": "cao-loc", "missing": None}) == 0
        assert [d.doc_id for d in store.find_where(users, {})] == [1, 2, 3]
        plain = store.table("plain")
        plain.insert_multiple([{"tags": ["x", "y"]}, {"tags": "x"}, {"other": 1}])
        assert [d.doc_id for d in store.find(plain, "tags", "x")] == [1, 2]
        assert store.count_where(plain, {"tags": "y"}) == 1


def test_indexes_follow_random_writes_and_reopen(tmp_path: Path) -> None:
    rng = random.Random(7)
    areas = ["cao-loc", "loc-binh", "van-quan", "bac-son"]
    with Store(tmp_path) as store:
        users = users_of(store)
        for step in range(600):
            live = [d.doc_id for d in users.all()]
            roll = rng.random()
            if roll < 0.4 or not live:
                users.insert(
                    {
                        "phone": f"+84{rng.randrange(50)}",
                        "ident": [
                            f"telegram:{rng.randrange(80)}" for _ in range(rng.randrange(3))
                        ],
                        "area": rng.choice(areas),
                    }
                )
            elif roll < 0.6:
                users.update({"area": rng.choice(areas)}, doc_ids=[rng.choice(live)])
            elif roll < 0.7:
                users.update(lambda d: d.pop("phone", None), where("area") == rng.choice(areas))
            elif roll < 0.8:
                users.update(lambda d: d["ident"].append("web:x"), doc_ids=rng.sample(live, 1))
            elif roll < 0.95:
                users.remove(doc_ids=[rng.choice(live)])
            else:
                users.remove(where("area") == rng.choice(areas))
            if step % 50 == 0:
                assert_indexes_agree(store, users)
        assert_indexes_agree(store, users)
        before = as_dict(users)
    with Store(tmp_path) as store:
        users = users_of(store)
        assert as_dict(users) == before
        assert_indexes_agree(store, users)


def test_same_answers_as_stock_tinydb(tmp_path: Path) -> None:
    rng = random.Random(11)
    stock = TinyDB(storage=MemoryStorage).table("t")
    with Store(tmp_path) as store:
        ours = store.table("t")
        for _ in range(400):
            apply_random_op(rng, stock, ours)
            assert as_plain(ours) == as_plain(stock)
            query = where("k") == rng.randrange(5)
            assert [d.doc_id for d in ours.search(query)] == [
                d.doc_id for d in stock.search(query)
            ]
            assert ours.count(query) == stock.count(query)


def apply_random_op(rng: random.Random, *tables: Table) -> None:
    """Apply the same random write to each table."""
    roll = rng.random()
    k = rng.randrange(5)
    results: list[object] = []
    for table in tables:
        state = rng.getstate()
        if roll < 0.3:
            results.append(table.insert({"k": k, "v": rng.random()}))
        elif roll < 0.45:
            results.append(table.insert_multiple([{"k": k}, {"k": k + 1, "l": [k]}]))
        elif roll < 0.6:
            results.append(table.update({"v": k}, where("k") == k))
        elif roll < 0.7:
            results.append(table.update(lambda d: d.update(k=d["k"] + 1), where("k") == k))
        elif roll < 0.8:
            results.append(table.upsert({"k": k, "u": 1}, where("k") == k))
        elif roll < 0.9:
            results.append(table.remove(where("k") == k))
        else:
            ids = [d.doc_id for d in table.all()][:3]
            results.append(table.remove(doc_ids=ids))
        rng.setstate(state)
    assert all(r == results[0] for r in results), results


def as_plain(table: Table) -> dict[int, dict[str, Any]]:
    """Documents by id as plain dicts."""
    return {d.doc_id: dict(d) for d in table.all()}


def test_second_open_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path), pytest.raises(StoreLocked):
        Store(tmp_path)
    Store(tmp_path).close()  # the lock is released on close


def test_schema_version_and_migrations(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        assert store.schema == SCHEMA_VERSION
        store.table("users").insert({"fullname": "Nông Văn Đức"})

    def rename_fullname(s: Store) -> None:
        users = s.table("users")
        users.update(
            lambda d: d.__setitem__("name", d.pop("fullname")), where("fullname").exists()
        )

    migrations = (*[lambda s: None] * (SCHEMA_VERSION - 1), rename_fullname)
    with Store(tmp_path, migrations=migrations) as store:
        assert store.schema == SCHEMA_VERSION + 1
        assert store.table("users").all() == [{"name": "Nông Văn Đức"}]
    with Store(tmp_path, migrations=migrations) as store:
        assert store.schema == SCHEMA_VERSION + 1, "migrations run once"
    with pytest.raises(StoreError, match="schema"):
        Store(tmp_path)  # an older program must not write over newer data
    Store(tmp_path, migrations=migrations).close()  # and the refused open released the lock


def test_imports_the_first_versions_json_file(tmp_path: Path) -> None:
    legacy = {"users": {"1": {"name": "An"}, "4": {"name": "Bích"}}, "faq": {}}
    (tmp_path / "store.json").write_text(json.dumps(legacy), encoding="utf-8")
    with Store(tmp_path) as store:
        users = store.table("users")
        assert as_plain(users) == {1: {"name": "An"}, 4: {"name": "Bích"}}
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
