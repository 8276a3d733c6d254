"""Write to a store forever, printing each operation before it starts and after it returns.

Run by the crash tests: `store_writer.py DATA_DIR MODE SEED COMPACT_BYTES`, MODE `mixed` (random
inserts, updates, removes), `deferred` (the same, each fsync left to a flush as the bot does) or
`append` (inserts numbered 0, 1, 2... for prefix checks). Lines:
`R` once open, `B <json op>` before a call, `A <json result>` after it returned.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.storage.db import Store

AREAS = ["cao-loc", "loc-binh", "van-quan", "bac-son", "dinh-lap"]
NAMES = ["Nguyễn Văn An", "Hoàng Thị Bích", "Lộc Văn Cường", "Vi Thị Dung", "Nông Văn Đức"]


def new_doc(rng: random.Random, n: int) -> dict[str, Any]:
    """A user-like document with indexed fields and some bulk."""
    return {
        "n": n,
        "name": rng.choice(NAMES),
        "phone": f"+849{rng.randrange(10**8):08d}",
        "ident": [f"telegram:{rng.randrange(10**6)}", f"zalo:{rng.randrange(10**6)}"],
        "area": rng.choice(AREAS),
        "note": "lúa " * rng.randrange(1, 300),
    }


def emit(tag: str, value: Any) -> None:
    """Print one protocol line and flush it to the parent."""
    sys.stdout.write(f"{tag} {json.dumps(value)}\n")  # ASCII: any locale can print it
    sys.stdout.flush()


class Writer:
    """Random writes to the users table, announcing each before it starts."""

    def __init__(self, store: Store, mode: str, seed: str) -> None:
        self.rng = random.Random(seed)
        self.mode = mode
        self.users = store.table("users", indexes=("phone", "ident", "area"))
        self.live = [d.doc_id for d in self.users.all()]
        self.n = max((d["n"] for d in self.users.all()), default=-1) + 1

    def step(self) -> Any:
        """Announce and run one write; return what it returned."""
        rng, users, live = self.rng, self.users, self.live
        roll = rng.random() if self.mode != "append" else 0.0
        n = self.n
        self.n += 1 if self.mode == "append" else 10
        if roll < 0.45 or not live:
            doc = new_doc(rng, n)
            emit("B", {"op": "insert", "docs": [doc]})
            live.append(users.insert(doc))
            return live[-1]
        if roll < 0.55:
            docs = [new_doc(rng, n + i) for i in range(rng.randrange(2, 6))]
            emit("B", {"op": "insert", "docs": docs})
            ids = users.insert_multiple(docs)
            live.extend(ids)
            return ids
        if roll < 0.85:
            doc_id = rng.choice(live)
            fields = {"area": rng.choice(AREAS), "phone": f"+848{rng.randrange(10**8):08d}"}
            emit("B", {"op": "update", "id": doc_id, "fields": fields})
            return users.update(fields, doc_ids=[doc_id])
        doc_id = live.pop(rng.randrange(len(live)))
        emit("B", {"op": "remove", "id": doc_id})
        return users.remove(doc_ids=[doc_id])


async def write_deferred(store: Store, writer: Writer) -> None:
    """As the bot writes: fsync left to a flush, acknowledged only after it."""
    while True:
        with store.deferred_sync():
            result = writer.step()
        await store.flush()
        emit("A", result)


def main() -> None:
    """Open the store and write until killed."""
    data_dir, mode, seed, compact = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    store = Store(data_dir, compact_min_bytes=int(compact))
    writer = Writer(store, mode, seed)
    emit("R", len(writer.live))
    if mode == "deferred":
        asyncio.run(write_deferred(store, writer))
    while True:
        emit("A", writer.step())


if __name__ == "__main__":
    main()
