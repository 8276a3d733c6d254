"""Index entries: one id as an int, a few as a tuple, many as a set, through adds and drops."""

from __future__ import annotations

import random
from collections.abc import Hashable

import pytest

from bot.storage.codec import dumps, loads
from bot.storage.index import SMALL, FieldIndex


def test_entries_follow_adds_and_drops_across_every_size() -> None:
    rng = random.Random(4)
    index = FieldIndex("area")
    model: dict[int, str] = {}
    for _ in range(3000):
        doc_id = rng.randrange(1, 3 * SMALL)
        if doc_id in model:
            index.drop(doc_id, {"area": model.pop(doc_id)})
        else:
            # Mostly one key, so entries grow past SMALL and shrink back to one id.
            model[doc_id] = "cao-loc" if rng.random() < 0.8 else f"xa-{doc_id % 3}"
            index.add(doc_id, {"area": model[doc_id]})
        expected: dict[Hashable, set[int]] = {}
        for i, area in model.items():
            expected.setdefault(area, set()).add(i)
        assert index.as_sets() == expected
        for key, ids in expected.items():
            assert sorted(index.ids(key)) == sorted(ids)
    kinds = {type(v) for v in index.entries.values()}
    assert kinds <= {int, tuple, set}


def test_dump_and_load_give_the_same_entries() -> None:
    index = FieldIndex("ident")
    index.build(
        (i, {"ident": [f"zalo:{i % 100}", f"telegram:{i}", i % 2 == 0, None, 1.5]})
        for i in range(1, 700)
    )
    ids = {i: i for i in range(1, 700)}
    loaded = FieldIndex.load("ident", loads(dumps(index.dump())), ids)
    assert loaded.as_sets() == index.as_sets()
    assert {type(v) for v in loaded.entries.values()} == {int, tuple, set}
    assert sorted(loaded.ids("zalo:3")) == sorted(index.ids("zalo:3"))
    assert all(i is ids[i] for i in loaded.ids("zalo:3")), "ids are the table's own int objects"
    with pytest.raises(KeyError):
        FieldIndex.load("ident", loads(dumps(index.dump())), {i: i for i in range(1, 600)})
