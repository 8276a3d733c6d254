"""Copy a store's documents into an empty PostgreSQL database, resumably.

Used by `python -m bot store migrate --to postgresql://…` (an embedded DATA_DIR) and by
`python -m bot restore FILE` on PostgreSQL (a backup file). Documents keep their ids (links,
buttons and QR stickers name them), arrive in batches with `COPY`, and each batch commits
whole, on one of a few connections at once. The `meta` table records the copy (`copy`: the
source and a fingerprint of every document it holds, finished or not). A copy cut short
resumes where it stopped: a batch is in the database whole or not at all, so the documents
present are exactly those copied, and the rest follow; nothing is copied twice. A database
holding anything else is refused, and so is a source that changed since the copy began. At
the end the `doc_ids` sequence is set past every id the source ever gave out and the
database takes the source's schema version.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg

from bot.storage.codec import dumps
from bot.storage.errors import StoreError, quiet
from bot.storage.files import Frozen
from bot.storage.pg import ID_BLOCK
from bot.storage.pg_schema import COPY_KEY, migrate, set_schema

BATCH = 5_000  # documents per COPY and per commit
WORKERS = 2  # connections copying at once
_COPY_LOCK = 0x4E44_5303  # pg_advisory_lock key: one copy into a database at a time


class TargetNotEmpty(StoreError):
    """The database holds documents that are not an unfinished copy of this source."""


@dataclass(frozen=True)
class Source:
    """What to copy: every table's encoded documents by id and next id, and the schema."""

    schema: int
    tables: Frozen

    def counts(self) -> dict[str, int]:
        """Documents per table."""
        return {name: len(docs) for name, (_next, docs, _ix) in sorted(self.tables.items())}

    def next_id(self) -> int:
        """An id above every id any table gave out (deleted documents' included)."""
        tops = [max(n, max(docs, default=0) + 1) for n, docs, _ix in self.tables.values()]
        return max(tops, default=1)

    def fingerprint(self) -> str:
        """A digest of every document: a resumed copy must read exactly what it started on."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(b"%d" % self.schema)
        for name, (_next, docs, _ix) in sorted(self.tables.items()):
            digest.update(b"\0t%s" % name.encode())
            for doc_id in sorted(docs):
                digest.update(b"\0%d\0" % doc_id)
                digest.update(docs[doc_id])
        return digest.hexdigest()


@dataclass(frozen=True)
class Copied:
    """What a copy did."""

    documents: int  # copied by this run
    resumed: bool  # an interrupted copy of the same source was continued
    already: bool  # the copy had finished before: nothing to do


Progress = Callable[[str, int, int], None]  # table, documents of it in the database, its total


def copy_into(
    url: str,
    source: Source,
    label: str,
    *,
    batch: int = BATCH,
    workers: int = WORKERS,
    progress: Progress | None = None,
) -> Copied:
    """Copy `source` (described by `label`, e.g. its DATA_DIR) into the database at `url`.

    The database's tables are created if missing. Batches go over `workers` connections at
    once (the server parses JSON on one core per connection). Raises TargetNotEmpty for a
    database holding anything but an unfinished copy of the same source, StoreError for any
    other failure (the database's included).
    """
    with _database_errors(), psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
        if not _try_lock(conn):
            raise StoreError("another copy into this database is running")
        for name in source.tables:  # before the copy is recorded: a refusal leaves nothing
            if not name or set(name) & set("\t\n\r\\"):
                raise StoreError(f"a table named {name!r} cannot be copied")
        state = _begin(conn, source.fingerprint(), label)
        if state.get("finished"):
            return Copied(0, resumed=False, already=True)
        # Each batch commits whole, so the documents present are exactly those copied.
        present: dict[str, set[int]] = {}
        for tbl, doc_id in conn.execute("SELECT tbl, id FROM docs"):
            present.setdefault(tbl, set()).add(doc_id)
        plan = _Plan(source, present, progress)
        for name, (_next, docs, _ix) in sorted(source.tables.items()):
            ids = sorted(set(docs) - present.get(name, set()))
            plan.batches += [(name, ids[i : i + batch]) for i in range(0, len(ids), batch)]
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="pg-copy") as pool:
            futures = [pool.submit(plan.work, url) for _ in range(max(1, workers))]
            try:
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C included: the batches under way finish, no more
                plan.stop()
                raise
        _finish(conn, source)
        return Copied(plan.copied, resumed=bool(present), already=False)


class _Plan:
    """The batches left to copy, taken one at a time by the workers."""

    def __init__(
        self, source: Source, present: Mapping[str, set[int]], progress: Progress | None
    ) -> None:
        self.batches: deque[tuple[str, list[int]]] = deque()
        self.copied = 0
        self._source = source
        self._progress = progress
        self._have = {name: len(ids) for name, ids in present.items()}
        self._lock = threading.Lock()
        self._failed = False

    def _take(self) -> tuple[str, list[int]] | None:
        with self._lock:
            if self._failed or not self.batches:
                return None
            return self.batches.popleft()

    def work(self, url: str) -> None:
        """Copy batches on a connection of its own until none is left (or a worker failed)."""
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                while (taken := self._take()) is not None:
                    name, ids = taken
                    docs = self._source.tables[name][1]
                    with conn.transaction():
                        try:
                            _copy_rows(conn, name, ids, docs)
                        except psycopg.errors.UniqueViolation as exc:
                            raise _duplicate(name, exc) from exc
                        self._done(name, len(ids), len(docs))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Take no more batches."""
        self._failed = True

    def _done(self, name: str, count: int, total: int) -> None:
        with self._lock:
            self.copied += count
            self._have[name] = have = self._have.get(name, 0) + count
            if self._progress is not None:
                self._progress(name, have, total)  # inside the batch: raising undoes it


def database_counts(url: str) -> dict[str, int]:
    """Documents per table in the database."""
    with _database_errors(), psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT tbl, count(*) FROM docs GROUP BY tbl").fetchall()
    return {str(tbl): int(n) for tbl, n in rows}


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """The database's errors as StoreError, the connection string's password left out."""
    try:
        yield
    except psycopg.Error as exc:
        raise StoreError(f"database: {quiet(exc)}") from exc


# Tables whose unique values are secrets (session ids, generated keys): never printed.
_SECRET_TABLES = frozenset({"console_sessions", "console_links", "secrets", "zalo_oa_token"})


def _duplicate(name: str, exc: psycopg.errors.UniqueViolation) -> StoreError:
    detail = exc.diag.message_detail or str(exc).splitlines()[0]
    if name in _SECRET_TABLES:
        detail = f"two documents share a unique value ({exc.diag.constraint_name})."
    return StoreError(
        f"table {name}: {detail} The database refuses duplicates the embedded store let in: "
        "make them unique in the source, then copy into a new empty database"
    )


def _try_lock(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_COPY_LOCK,)).fetchone()
    return bool(row and row[0])


def _begin(conn: psycopg.Connection[Any], fingerprint: str, label: str) -> dict[str, Any]:
    """The copy's recorded state: new in an empty database, or the unfinished one resumed."""
    with conn.transaction():
        row = conn.execute(
            "SELECT value FROM meta WHERE key = %s FOR UPDATE", (COPY_KEY,)
        ).fetchone()
        state: dict[str, Any] | None = row[0] if row else None
        if state is not None and state.get("fingerprint") == fingerprint:
            return state
        if state is not None:
            whose = "a finished" if state.get("finished") else "an unfinished"
            what = "another store" if state.get("from") != label else "it as it was before"
            raise TargetNotEmpty(
                f"the database holds {whose} copy of {what} ({state.get('from')}); copy "
                "only into an empty database (drop this one and create it again)"
            )
        if conn.execute("SELECT EXISTS (SELECT 1 FROM docs)").fetchone() != (True,):
            state = {"from": label, "fingerprint": fingerprint, "finished": False}
            conn.execute(
                "INSERT INTO meta VALUES (%s, %s::jsonb)", (COPY_KEY, dumps(state).decode())
            )
            return state
    raise TargetNotEmpty(
        "the database already holds documents (has a bot run on it?); copy only into an empty "
        "database"
    )


def _copy_rows(
    conn: psycopg.Connection[Any], name: str, ids: list[int], docs: Mapping[int, bytes]
) -> None:
    """One COPY of documents in PostgreSQL's text format, built as bytes (no per-row calls).

    Encoded JSON holds no raw tab, newline or carriage return (JSON escapes them), and table
    names are identifiers: doubling every backslash is all the escaping the format needs.
    """
    table = name.encode()
    body = b"".join([b"%s\t%d\t1\t%s\n" % (table, i, docs[i]) for i in ids])
    with conn.cursor().copy("COPY docs (tbl, id, ver, doc) FROM STDIN") as copy:
        copy.write(body.replace(b"\\", b"\\\\"))


def _finish(conn: psycopg.Connection[Any], source: Source) -> None:
    """Move the id sequence past the source's ids, take its schema, mark the copy finished."""
    with conn.transaction():
        row = conn.execute("SELECT last_value, is_called FROM doc_ids").fetchone()
        assert row is not None
        upcoming = int(row[0]) + (ID_BLOCK if row[1] else 0)
        conn.execute("SELECT setval('doc_ids', %s, false)", (max(upcoming, source.next_id()),))
        set_schema(conn, source.schema)
        conn.execute(
            "UPDATE meta SET value = jsonb_set(value, '{finished}', 'true') WHERE key = %s",
            (COPY_KEY,),
        )
