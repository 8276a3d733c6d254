"""Write to a store forever, printing each operation before it starts and after it returns.

Run by the crash tests: `store_writer.py DATA_DIR MODE SEED COMPACT_BYTES`, MODE `mixed` (random
inserts, updates, removes) or `append` (inserts numbered 0, 1, 2... for prefix checks). Lines:
`R` once open, `B <json op>` before a call, `A <json result>` after it returned.
"""

from __future__ import annotations

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


def main() -> None:
    """Open the store and write until killed."""
    data_dir, mode, seed, compact = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    rng = random.Random(seed)
    store = Store(data_dir, compact_min_bytes=int(compact))
    users = store.table("users", indexes=("phone", "ident", "area"))
    live = [d.doc_id for d in users.all()]
    n = max((d["n"] for d in users.all()), default=-1) + 1
    emit("R", len(live))
    while True:
        roll = rng.random() if mode == "mixed" else 0.0
        if roll < 0.45 or not live:
            doc = new_doc(rng, n)
            emit("B", {"op": "insert", "docs": [doc]})
            live.append(users.insert(doc))
            emit("A", live[-1])
        elif roll < 0.55:
            docs = [new_doc(rng, n + i) for i in range(rng.randrange(2, 6))]
            emit("B", {"op": "insert", "docs": docs})
            ids = users.insert_multiple(docs)
            live.extend(ids)
            emit("A", ids)
        elif roll < 0.85:
            doc_id = rng.choice(live)
            fields = {"area": rng.choice(AREAS), "phone": f"+848{rng.randrange(10**8):08d}"}
            emit("B", {"op": "update", "id": doc_id, "fields": fields})
            emit("A", users.update(fields, doc_ids=[doc_id]))
        else:
            doc_id = live.pop(rng.randrange(len(live)))
            emit("B", {"op": "remove", "id": doc_id})
            emit("A", users.remove(doc_ids=[doc_id]))
        n += 1 if mode == "append" else 10


if __name__ == "__main__":
    main()
