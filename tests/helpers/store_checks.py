"""Assertions shared by the store tests."""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

from tinydb.table import Table

from bot.storage.db import Store
from bot.storage.index import index_keys
from bot.storage.table import LogTable, field_matches


def assert_indexes_agree(store: Store, table: LogTable) -> None:
    """Each index equals one rebuilt from the documents, and `find` equals a full scan."""
    docs = {d.doc_id: dict(d) for d in table.all()}
    for field in table.indexed_fields:
        rebuilt: dict[Hashable, set[int]] = {}
        for doc_id, doc in docs.items():
            if field in doc:
                for key in index_keys(doc[field]):
                    rebuilt.setdefault(key, set()).add(doc_id)
        assert table.index_sets(field) == rebuilt, f"index {field} is stale"
        for value in rebuilt:
            assert {d.doc_id for d in store.find(table, field, value)} == rebuilt[value]
        # `find` against a plain scan, for a sample of values (a scan per value is quadratic).
        for value in [
            *random.Random(0).sample(sorted(rebuilt, key=str), min(10, len(rebuilt))),
            "none",
        ]:
            found = [d.doc_id for d in store.find(table, field, value)]
            scanned = [i for i, d in docs.items() if field in d and field_matches(d[field], value)]
            assert sorted(found) == sorted(scanned), (field, value)


def as_dict(table: Table) -> dict[int, dict[str, Any]]:
    """All documents of a table by id."""
    return {d.doc_id: dict(d) for d in table.all()}
