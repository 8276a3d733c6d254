"""The repository contract, one suite run on each backend (the `backend` fixture).

Everything the repositories rely on: the TinyDB table API as LogTable serves it (insert,
get, update in every form, remove, truncate, search), `Store.find*` with list fields, indexes
declared after data exists, reopening (a new PgStore on the same database), commits inside
`deferred_sync` + `flush`, fresh decoded documents, Vietnamese text, emoji and big documents,
and ids never reused. Embedded-only behaviour (log files, fsync, compaction, the DATA_DIR lock)
stays in tests/test_store*.py; PostgreSQL-only behaviour (several processes) is in
tests/test_store_pg.py.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB, where
from tinydb.storages import MemoryStorage
from tinydb.table import Document, Table

from bot.storage.db import MIGRATIONS, SCHEMA_VERSION, Migration, Store, StoreError
from bot.storage.table import LogTable
from tests.helpers.pg_fixtures import StoreBackend
from tests.helpers.store_checks import as_dict, assert_indexes_agree


class Stores:
    """Opens stores of one backend on one place (DATA_DIR or database) and closes them all."""

    def __init__(self, backend: StoreBackend, data_dir: Path) -> None:
        self.backend = backend
        self.data_dir = data_dir
        self.opened: list[Store] = []

    def open(self, migrations: Sequence[Migration] = MIGRATIONS) -> Store:
        """A store on the same data; the embedded one must close the last first (its lock)."""
        if self.backend.database_url is None:
            store = Store(self.data_dir, migrations=migrations)
        else:
            from bot.storage.pg import PgStore

            store = PgStore(self.backend.database_url, self.data_dir, migrations=migrations)
        self.opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        """Close a store and open its data again, as a restarted process does."""
        store.close()
        return self.open()

    def close(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture
def stores(backend: StoreBackend, tmp_path: Path) -> Iterator[Stores]:
    opened = Stores(backend, tmp_path / "data")
    yield opened
    opened.close()


def users_of(store: Store) -> LogTable:
    """The users table with the indexes the repositories declare."""
    table = store.table("users", indexes=("ident", "phone", "area"))
    assert isinstance(table, LogTable)
    return table


def ids(docs: Any) -> list[int]:
    return [d.doc_id for d in docs]


def test_insert_and_read_back(stores: Stores) -> None:
    users = users_of(stores.open())
    an = users.insert({"name": "Nguyễn Văn An", "phone": "+84912000001", "area": "cao-loc"})
    bich, cuong = users.insert_multiple(
        [{"name": "Hoàng Thị Bích", "area": "loc-binh"}, {"name": "Vi Văn Cường"}]
    )
    assert an < bich < cuong, "ids grow in one process"
    assert users.get(doc_id=an) == {
        "name": "Nguyễn Văn An",
        "phone": "+84912000001",
        "area": "cao-loc",
    }
    assert users.get(doc_id=cuong + 1000) is None and users.by_id(cuong + 1000) is None
    found = users.get(where("name") == "Vi Văn Cường")
    assert isinstance(found, Document) and found.doc_id == cuong
    assert ids(users.get(doc_ids=[cuong, an])) == [cuong, an]  # type: ignore[arg-type]
    assert users.by_id(bich) == {"name": "Hoàng Thị Bích", "area": "loc-binh"}
    assert ids(users.by_ids([cuong, 999_999, an, cuong])) == [cuong, an]
    assert users.contains(doc_id=bich) and not users.contains(doc_id=999_999)
    assert users.contains(where("area") == "loc-binh")
    assert not users.contains(where("area") == "bac-son")
    assert len(users) == 3
    assert ids(users.all()) == [an, bich, cuong] == ids(iter(users))
    with pytest.raises(RuntimeError):
        users.get()


def test_updates_by_ids_condition_callable_and_many(stores: Stores) -> None:
    users = users_of(stores.open())
    a, b, c = users.insert_multiple(
        [{"name": "An", "area": "cao-loc"}, {"name": "Bích"}, {"name": "Cường", "n": 0}]
    )
    assert users.update({"area": "van-quan"}, doc_ids=[b, 999_999]) == [b]
    assert users.update({"consent": True}, where("area") == "van-quan") == [b]
    assert users.update(lambda d: d.update(n=len(d["name"])), doc_ids=[c]) == [c]
    assert users.get(doc_id=c) == {"name": "Cường", "n": 5}
    assert users.update({"seen": 1}) == [a, b, c]  # no condition: every document
    assert users.update_multiple(
        [({"tier": "x"}, where("name") == "An"), ({"tier": "y"}, where("n") == 5)]
    ) == [a, c]
    assert users.upsert({"phone": "+84912000003"}, where("name") == "Cường") == [c]
    [d] = users.upsert({"name": "Lò Thị Dung"}, where("name") == "Lò Thị Dung")
    assert d > c
    assert as_dict(users) == {
        a: {"name": "An", "area": "cao-loc", "seen": 1, "tier": "x"},
        b: {"name": "Bích", "area": "van-quan", "consent": True, "seen": 1},
        c: {"name": "Cường", "n": 5, "seen": 1, "tier": "y", "phone": "+84912000003"},
        d: {"name": "Lò Thị Dung"},
    }
    assert ids(users.search(where("area") == "van-quan")) == [b]
    assert users.count(where("seen") == 1) == 3
    assert ids(users.search(where("name").matches(r"^[ABC]"))) == [a, b, c]


def test_removes_and_truncate(stores: Stores) -> None:
    table = stores.open().table("t")
    a, b, c, d = table.insert_multiple([{"k": 1}, {"k": 2}, {"k": 2}, {"k": 3}])
    assert table.remove(doc_ids=[a, 999_999, a]) == [a]
    assert table.remove(where("k") == 2) == [b, c]
    assert table.remove(where("k") == 9) == []
    with pytest.raises(RuntimeError):
        table.remove()
    assert as_dict(table) == {d: {"k": 3}}
    table.truncate()
    assert len(table) == 0 and table.all() == []
    assert table.insert({"k": 4}) > d, "ids keep counting after a truncate"


def test_changes_since_lists_what_changed_until_it_no_longer_knows(stores: Stores) -> None:
    store = stores.open()
    users = users_of(store)
    start = users.generation
    an, binh = users.insert_multiple([{"name": "An"}, {"name": "Bình"}])
    users.update({"area": "cao-loc"}, doc_ids=[an])
    mark = users.generation
    users.remove(doc_ids=[binh])
    users.remove(doc_ids=[binh])  # nothing left to remove: no change
    assert users.changes_since(start) == [an, binh, an, binh]
    assert users.changes_since(mark) == [binh]
    assert users.changes_since(users.generation) == []
    assert users.changes_since(users.generation + 1) is None  # not a generation it had
    users.truncate()
    assert users.changes_since(mark) is None  # read the whole table again
    users.insert({"name": "Cúc"})
    assert users_of(stores.reopen(store)).changes_since(0) is None  # a reopened table: read all


def test_explicit_ids_and_duplicates(stores: Stores) -> None:
    table = stores.open().table("t")
    assert table.insert(Document({"a": 1}, 3)) == 3
    fresh = table.insert_multiple({"a": n} for n in range(5))
    assert 3 not in fresh and len(set(fresh)) == 5, "a new id never takes an explicit one"
    assert table.get(doc_id=3) == {"a": 1}
    with pytest.raises(ValueError):
        table.insert(Document({"a": 3}, 3))
    with pytest.raises(ValueError):
        table.insert_multiple([{"a": 4}, Document({"a": 5}, fresh[0])])
    assert len(table) == 6, "a rejected batch writes nothing"
    with pytest.raises(ValueError):
        table.insert(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_returned_documents_are_copies(stores: Stores) -> None:
    store = stores.open()
    users = users_of(store)
    doc_id = users.insert({"ident": ["telegram:1"], "crops": {"lua": 2}})
    doc = users.get(doc_id=doc_id)
    assert isinstance(doc, Document)
    doc["ident"].append("zalo:9")
    doc["crops"]["ngo"] = 1
    for again in (users.all()[0], store.find(users, "ident", "telegram:1")[0]):
        again["crops"].clear()
    assert users.get(doc_id=doc_id) == {"ident": ["telegram:1"], "crops": {"lua": 2}}
    assert store.find(users, "ident", "zalo:9") == []
    fields: dict[str, Any] = {"tags": ["a"]}
    users.update(fields, doc_ids=[doc_id])
    fields["tags"].append("b")
    inserted: dict[str, Any] = {"tags": ["x"]}
    other = users.insert(inserted)
    inserted["tags"].append("y")
    assert users.get(doc_id=doc_id) == {
        "ident": ["telegram:1"],
        "crops": {"lua": 2},
        "tags": ["a"],
    }
    assert users.get(doc_id=other) == {"tags": ["x"]}
    assert as_dict(users_of(stores.reopen(store))) == {
        doc_id: {"ident": ["telegram:1"], "crops": {"lua": 2}, "tags": ["a"]},
        other: {"tags": ["x"]},
    }


def test_find_uses_equality_and_list_membership(stores: Stores) -> None:
    store = stores.open()
    users = users_of(store)
    one, two, three = users.insert_multiple(
        [
            {"ident": ["telegram:1", "zalo:1"], "phone": "+841", "area": "cao-loc"},
            {"ident": ["telegram:2"], "phone": "+842", "area": "cao-loc"},
            {"ident": [], "area": "bac-son"},
        ]
    )
    assert ids(store.find(users, "ident", "zalo:1")) == [one]
    assert ids(store.find(users, "area", "cao-loc")) == [one, two]
    assert store.find(users, "phone", "+849") == []
    both = {"area": "cao-loc", "ident": "telegram:2"}
    assert ids(store.find_where(users, both)) == [two]
    assert store.find_ids(users, both) == [two]
    assert store.find_ids(users, {"area": "cao-loc"}) == [one, two]
    assert store.count_where(users, {"area": "cao-loc", "phone": "+841"}) == 1
    assert store.count_where(users, {"area": "cao-loc", "missing": None}) == 0
    assert ids(store.find_where(users, {})) == [one, two, three]
    plain = store.table("plain")  # no index: the same answers by a scan
    x, y, _ = plain.insert_multiple([{"tags": ["x", "y"]}, {"tags": "x"}, {"other": 1}])
    assert ids(store.find(plain, "tags", "x")) == [x, y]
    assert store.count_where(plain, {"tags": "y"}) == 1
    assert store.find_ids(plain, {"tags": "x", "other": None}) == []


def test_indexes_declared_after_data_exists(stores: Stores) -> None:
    store = stores.open()
    orders = store.table("orders")
    a, b, c = orders.insert_multiple(
        [
            {"listing_id": 7, "status": "new", "tags": ["gấp"]},
            {"listing_id": 7, "status": "confirmed", "tags": []},
            {"listing_id": 8, "status": "new", "tags": ["gấp", "sỉ"]},
        ]
    )
    orders = store.table("orders", indexes=("listing_id", "status", "tags"))
    assert set(orders.indexed_fields) >= {"listing_id", "status", "tags"}
    assert store.find_ids(orders, {"listing_id": 7, "status": "new"}) == [a]
    assert store.find_ids(orders, {"tags": "gấp"}) == [a, c]
    orders.update({"status": "new"}, doc_ids=[b])
    assert store.count_where(orders, {"status": "new"}) == 3
    assert_indexes_agree(store, orders)
    reopened = stores.reopen(store)
    orders = reopened.table("orders", indexes=("listing_id", "status", "tags"))
    assert store.find_ids(orders, {"tags": "sỉ"}) == [c]
    assert_indexes_agree(reopened, orders)


def test_indexes_follow_random_writes_and_reopen(stores: Stores) -> None:
    rng = random.Random(7)
    areas = ["cao-loc", "loc-binh", "van-quan", "bac-son"]
    store = stores.open()
    users = users_of(store)
    for step in range(400):
        live = ids(users.all())
        roll = rng.random()
        if roll < 0.4 or not live:
            users.insert(
                {
                    "phone": f"+84{rng.randrange(50)}",
                    "ident": [f"telegram:{rng.randrange(80)}" for _ in range(rng.randrange(3))],
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
    store = stores.reopen(store)
    users = users_of(store)
    assert as_dict(users) == before
    assert_indexes_agree(store, users)


def test_same_answers_as_stock_tinydb(stores: Stores) -> None:
    rng = random.Random(11)
    stock = TinyDB(storage=MemoryStorage).table("t")
    ours = stores.open().table("t")
    for _ in range(300):
        apply_random_op(rng, stock, ours)
        assert as_plain(ours) == as_plain(stock)
        query = where("k") == rng.randrange(5)
        assert ids(ours.search(query)) == ids(stock.search(query))
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


def test_reopening_keeps_everything_and_never_reuses_ids(stores: Stores) -> None:
    store = stores.open()
    users = users_of(store)
    first = users.insert_multiple({"name": f"Người {n}", "area": "chi-lang"} for n in range(40))
    users.update({"area": "cao-loc"}, doc_ids=first[:5])
    users.remove(doc_ids=first[-3:])
    cleared = store.table("empty_now").insert({"x": 1})
    store.table("empty_now").truncate()
    before = {name: as_dict(store.table(name)) for name in ("users", "empty_now")}
    given = set(first)

    store = stores.reopen(store)
    users = users_of(store)
    assert {name: as_dict(store.table(name)) for name in before} == before
    assert ids(store.find(users, "area", "cao-loc")) == first[:5]
    new = users.insert({"name": "sau khi mở lại"})
    assert new > max(given), "ids are never reused, even after reopening"
    given.add(new)
    users.remove(doc_ids=[new])
    store = stores.reopen(store)
    again = users_of(store).insert({"name": "lần nữa"})
    truncated = store.table("empty_now").insert({"x": 2})
    assert again not in given and again > max(given)
    assert truncated > cleared, "nor after a truncate and a reopen"


def test_unicode_emoji_and_big_documents(stores: Stores) -> None:
    store = stores.open()
    notes = store.table("notes", indexes=("tag",))
    odd = {
        "text": "Quả na Chi Lăng 🍈 ngọt lịm — giá 45.000 ₫/kg; “chị Hoa” ơi! \\u0000 \\ \" ' \n\t\x7f",
        "tag": "rau-củ 🌿",
        "zwj": "👩‍🌾👨‍👩‍👧",
        "nested": {"mức": [1, 2.5, None, True, {"sâu": "ẽ"}]},
        "big_int": 2**53 + 1,
    }
    big = {"tag": "big", "blob": "Nông dân số 🌾 " * 150_000, "rows": list(range(20_000))}
    a = notes.insert(odd)
    b = notes.insert(big)
    assert notes.get(doc_id=a) == odd and notes.get(doc_id=b) == big
    assert ids(store.find(notes, "tag", "rau-củ 🌿")) == [a]
    notes.update({"blob": big["blob"] + "!"}, doc_ids=[b])
    reopened = stores.reopen(store).table("notes", indexes=("tag",))
    assert reopened.get(doc_id=a) == odd
    assert reopened.get(doc_id=b) == {**big, "blob": big["blob"] + "!"}


async def test_writes_inside_deferred_sync_are_kept_by_flush(stores: Stores) -> None:
    store = stores.open()
    await store.start()
    try:
        table = store.table("t", indexes=("k",))
        kept = table.insert({"k": "giữ", "n": 0})
        gone = table.insert({"k": "xoá"})
        await store.flush()
        with store.deferred_sync():
            new = table.insert({"k": "mới"})
            table.update(lambda d: d.update(n=d["n"] + 1), doc_ids=[kept])
            table.update({"k": "giữ lại"}, doc_ids=[kept])
            table.remove(doc_ids=[gone])
            brief = table.insert({"k": "thoáng qua"})
            table.remove(doc_ids=[brief])  # inserted and removed within one commit
            await store.flush()
        expected = {kept: {"k": "giữ lại", "n": 1}, new: {"k": "mới"}}
        assert as_dict(table) == expected
    finally:
        await store.stop()
    reopened = stores.reopen(store).table("t", indexes=("k",))
    assert as_dict(reopened) == expected
    assert reopened.find_ids({"k": "giữ lại"}) == [kept]


async def test_a_task_started_inside_an_update_keeps_its_writes(stores: Stores) -> None:
    """A task spawned during an update writes on its own, after the update's commit."""
    store = stores.open()
    await store.start()
    go = asyncio.Event()
    table = store.table("t")

    async def later() -> int:
        await go.wait()
        return table.insert({"by": "a task started by the update"})

    try:
        with store.deferred_sync():
            table.insert({"by": "the update"})
            task = asyncio.create_task(later())
            await store.flush()
        go.set()
        late = await task
        await store.flush()
    finally:
        await store.stop()
    reopened = stores.reopen(store).table("t")
    assert reopened.get(doc_id=late) == {"by": "a task started by the update"}
    assert len(reopened) == 2


async def test_writes_left_unflushed_by_a_failed_update_stay_consistent(stores: Stores) -> None:
    """An update that raises before its flush: what memory shows is what a reopen shows."""
    store = stores.open()
    await store.start()
    table = store.table("t")
    try:
        with pytest.raises(ZeroDivisionError), store.deferred_sync():
            table.insert({"half": "done"})
            _ = 1 / 0
        await store.flush()
        shown = as_dict(table)
    finally:
        await store.stop()
    assert as_dict(stores.reopen(store).table("t")) == shown


def test_schema_version_and_migrations(stores: Stores) -> None:
    store = stores.open()
    assert store.schema == SCHEMA_VERSION
    store.table("users").insert({"fullname": "Nông Văn Đức"})
    store.close()

    def rename_fullname(s: Store) -> None:
        users = s.table("users")
        users.update(
            lambda d: d.__setitem__("name", d.pop("fullname")), where("fullname").exists()
        )

    migrations = (*[lambda s: None] * (SCHEMA_VERSION - 1), rename_fullname)
    store = stores.open(migrations)
    assert store.schema == SCHEMA_VERSION + 1
    assert store.table("users").all() == [{"name": "Nông Văn Đức"}]
    store.close()
    store = stores.open(migrations)
    assert store.schema == SCHEMA_VERSION + 1, "migrations run once"
    assert store.table("users").all() == [{"name": "Nông Văn Đức"}]
    store.close()
    with pytest.raises(StoreError, match="schema"):
        stores.open()  # an older program must not write over newer data
