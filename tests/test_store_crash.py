"""A writer process SIGKILLed at random moments: acknowledged writes survive, nothing is torn."""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from bot.storage.backup import backup, restore
from bot.storage.db import Store
from bot.storage.files import listing
from bot.storage.table import LogTable
from tests.helpers.store_checks import as_dict, assert_indexes_agree

WRITER = Path(__file__).parent / "helpers" / "store_writer.py"
INDEXES = ("phone", "ident", "area")
Model = dict[int, dict[str, Any]]


def start_writer(
    data_dir: Path, mode: str, seed: int, compact_bytes: int
) -> subprocess.Popen[bytes]:
    """Start the helper writing to `data_dir` and wait until it has opened the store."""
    # Bytes, not text: a kill can cut a line inside a multi-byte Vietnamese letter.
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(data_dir), mode, str(seed), str(compact_bytes)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"R "), "writer did not open the store"
    return proc


def open_users(data_dir: Path) -> tuple[Store, LogTable]:
    """Open the store and its users table as the writer declares it."""
    store = Store(data_dir)
    users = store.table("users", indexes=INDEXES)
    assert isinstance(users, LogTable)
    return store, users


def replay_protocol(lines: list[str], model: Model) -> dict[str, Any] | None:
    """Apply every acknowledged op to the model; return the op in flight when killed, if any."""
    pending: dict[str, Any] | None = None
    for line in lines:
        if not line.endswith("\n"):
            break  # the kill cut this line: its op was never acknowledged
        tag, _, body = line.partition(" ")
        value = json.loads(body)
        if tag == "B":
            pending = value
            continue
        assert pending is not None
        apply_op(model, pending, value)
        pending = None
    return pending


def apply_op(model: Model, op: dict[str, Any], result: Any) -> None:
    """Apply an op with its returned ids to the model."""
    if op["op"] == "insert":
        ids = result if isinstance(result, list) else [result]
        assert len(ids) == len(op["docs"])
        for doc_id, doc in zip(ids, op["docs"], strict=True):
            assert doc_id not in model
            model[doc_id] = doc
    elif op["op"] == "update":
        for doc_id in result:
            model[doc_id] = {**model[doc_id], **op["fields"]}
    else:
        for doc_id in result:
            del model[doc_id]


def with_pending(model: Model, op: dict[str, Any], actual: Model) -> Model:
    """The model if the op in flight reached the disk before the kill."""
    after = copy.deepcopy(model)
    if op["op"] == "insert":
        new_ids = sorted(set(actual) - set(model))
        if len(new_ids) != len(op["docs"]):
            return model
        apply_op(after, op, new_ids)
    elif op["op"] == "update":
        apply_op(after, op, [op["id"]] if op["id"] in after else [])
    else:
        apply_op(after, op, [op["id"]] if op["id"] in after else [])
    return after


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random(3)
    model: Model = {}
    kills = in_flight_landed = 0
    snapshots_seen = 0
    for round_no in range(55):
        # A small compaction threshold makes kills land during compactions too.
        mode = "deferred" if round_no % 2 else "mixed"
        proc = start_writer(tmp_path, mode, round_no, 30_000)
        # Mostly early kills; some late enough for a compaction child to finish its snapshot.
        time.sleep(rng.uniform(0.0, 0.1) if rng.random() < 0.7 else rng.uniform(0.3, 0.8))
        proc.send_signal(signal.SIGKILL)
        assert proc.stdout is not None
        lines = [line.decode("utf-8", "replace") for line in proc.stdout.readlines()]
        proc.wait()
        kills += 1
        pending = replay_protocol(lines, model)
        snapshots_seen += bool(listing(tmp_path)[0])

        store, users = open_users(tmp_path)
        try:
            actual = as_dict(users)
            assert_indexes_agree(store, users)
        finally:
            store.close()
        if actual != model:
            assert pending is not None, f"round {round_no}: store differs from acknowledged writes"
            assert actual == with_pending(model, pending, actual), f"round {round_no}: torn state"
            in_flight_landed += 1
        model = actual
    assert kills >= 50
    assert len(model) > 100, "the writer barely wrote: the test would prove nothing"
    assert snapshots_seen > 0, "no compaction ever ran during the kills"


def test_backup_while_writing_is_a_consistent_prefix(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = start_writer(data_dir, "append", 1, 40_000)
    acked = 0

    def count_acks(out: IO[bytes]) -> None:
        nonlocal acked
        for line in out:
            if line.startswith(b"A "):
                acked += 1

    assert proc.stdout is not None
    reader = threading.Thread(target=count_acks, args=(proc.stdout,), daemon=True)
    reader.start()
    try:
        for i in range(4):
            time.sleep(0.15)
            before = acked
            dest = tmp_path / f"backup-{i}.jsonl"
            backup(data_dir, dest)
            target = tmp_path / f"restored-{i}"
            restore(dest, target)
            store, users = open_users(target)
            try:
                numbers = sorted(d["n"] for d in users.all())
                assert numbers == list(range(len(numbers))), "backup is not a prefix of the writes"
                assert len(numbers) >= before
                assert_indexes_agree(store, users)
            finally:
                store.close()
    finally:
        proc.kill()
        proc.wait()
        reader.join()
    assert acked > 0


def test_a_second_process_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        code = (
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[2])\n"
            "from bot.storage.db import Store, StoreLocked\n"
            "try:\n    Store(Path(sys.argv[1]))\nexcept StoreLocked:\n    print('locked')\n"
        )
        root = str(Path(__file__).resolve().parents[1])
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path), root],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": root},
        )
        assert out.stdout.strip() == "locked"
    finally:
        store.close()
