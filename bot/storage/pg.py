"""The store on PostgreSQL: the same tables and contract as the embedded store, shared by processes.

Every process keeps the tables in memory as the embedded store does (the same `LogTable`, its
indexes and reads), so repositories and handlers run unchanged and a read never waits on the
database. Writes are PostgreSQL's:

- A write is applied to memory at once and queued; `flush()` (which the engine awaits before
  it replies, and the notifier before it sends) commits the queue in one transaction on an
  async connection, so the event loop never waits on the database. Outside an update (no
  running loop: the command line, start-up) a write commits before it returns.
- Each document carries a version; a commit overwrites only the version it read. If another
  process changed it first, or a unique constraint refuses the commit, the documents involved
  are read back from the database and `StoreConflict` is raised: the engine handles the update
  again on the fresh data.
- Commits that updates make while another is on its way to the database share the next
  statement (group commit, bot/storage/pg_group.py); each is still accepted or refused whole.
- Each commit notifies the other processes (`LISTEN/NOTIFY`, with the new documents when they
  fit in a notification), which apply it to their memory within milliseconds. Notifications
  arrive in commit order, so a process that notifies itself and waits for its own notification
  (a barrier) has applied every change committed before: `user_turn` does this after taking the
  person's lock, so whichever process gets a person's next update sees everything the last one
  did.
- A person's updates are handled one at a time across processes under an advisory lock on
  their key, held on a pooled connection for their turn. A process their updates keep
  coming to keeps that lock between their turns (bot/storage/pg_kept.py): their turns then
  begin without a round trip, until another process asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool
from tinydb.storages import MemoryStorage
from tinydb.table import Document

from bot.storage.budget import RateBudget, SharedBudget
from bot.storage.codec import dumps, dumps_kept, loads
from bot.storage.db import MIGRATIONS, Migration, Store, meets, no_gc
from bot.storage.errors import StoreConflict, StoreError, quiet
from bot.storage.files import write_snapshot
from bot.storage.pg_group import GroupCommits
from bot.storage.pg_kept import KeptLocks, turn_hash
from bot.storage.pg_schema import COPY_KEY, MIGRATION_LOCK, index_sql, migrate, set_schema
from bot.storage.table import LogTable

log = logging.getLogger(__name__)

CHANNEL = "nds_docs"
NOTIFY_MAX = 7_000  # bytes of one notification payload (PostgreSQL's limit is 8,000)
BARRIER_TIMEOUT = 10.0  # seconds a barrier may wait for the listener before giving up
ID_BLOCK = 32  # the doc_ids sequence's increment
# A database machine that vanishes without closing its connections (power, network, a failover)
# is noticed within about 30 s, not the kernel's ~15 minutes of retransmissions: keepalive
# probes on idle links (the change feed and a commit awaiting its answer are idle), and a limit
# on data left unacknowledged; a connection attempt to it gives up after 10 s (per host), not
# after the kernel's ~2 minutes. libpq ignores the TCP ones on a Unix socket.
LINK_SETTINGS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",  # milliseconds
}
# Key spaces of the advisory locks on names (hashtextextended's seed), one per kind of lock.
_TURN_SPACE, _EXCLUSIVE_SPACE, _STARTUP_SPACE = 0, 1, 2
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")  # a JSON-escaped NUL, not an escaped backslash

# The batch of writes of the update being handled by the current task (see `deferred_sync`).
# Both belong to the task that set them: a task started inside inherits the variables but
# neither the batch (nothing would flush it) nor the connection (returned to the pool after).
_BATCH: ContextVar[tuple[object, Batch] | None] = ContextVar("_PG_BATCH", default=None)
# The current person's turn (see `user_turn`): their writes commit on its connection.
_TURN: ContextVar[tuple[object, Turn] | None] = ContextVar("_PG_TURN", default=None)

T = TypeVar("T")


def with_link_settings(url: str) -> str:
    """DATABASE_URL with LINK_SETTINGS added, except those it sets itself."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error:
        return url  # connecting says what is wrong with it
    missing = {k: v for k, v in LINK_SETTINGS.items() if k not in given}
    if not missing:
        return url
    if url.startswith(("postgresql://", "postgres://")):
        return url + ("&" if "?" in url else "?") + urlencode(missing)
    return " ".join([url, *(f"{k}={v}" for k, v in missing.items())])


def _mine(var: ContextVar[tuple[object, T] | None]) -> T | None:
    """The variable's value if the current task set it, else None."""
    held = var.get()
    if held is None or held[0] is not _current_task():
        return None
    return held[1]


def _current_task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop: the command line, start-up
        return None


@dataclass
class Change:
    """The newest queued state of one document: its version before the batch, and after."""

    before: int | None  # None: the document is new (inserted by this batch)
    after: int
    doc: bytes | None  # None: removed


@dataclass
class Turn:
    """A person's turn: the connection holding their lock, and whether it still holds it."""

    conn: psycopg.AsyncConnection[Any]
    key: str
    space: int
    locked: bool = True


@dataclass
class Batch:
    """Writes queued since the last commit, the newest state of each document."""

    changes: dict[tuple[str, int], Change] = field(default_factory=dict)
    after_loose: bool = False  # writes on top of loose ones, which must commit first

    def set(self, key: tuple[str, int], before: int | None, after: int, doc: bytes) -> None:
        known = self.changes.get(key)
        self.changes[key] = Change(known.before if known else before, after, doc)

    def remove(self, key: tuple[str, int], before: int | None) -> None:
        known = self.changes.get(key)
        if known is not None and known.before is None:
            del self.changes[key]  # inserted and removed before anyone saw it
        else:
            self.changes[key] = Change(known.before if known else before, 0, None)

    def absorb(self, other: Batch) -> None:
        """Take in another queue's changes (each document's oldest before, newest after)."""
        for key, change in other.changes.items():
            known = self.changes.get(key)
            if known is not None:
                first, last = sorted((known, change), key=lambda c: (c.doc is None, c.after))
                change = Change(first.before, last.after, last.doc)
            if change.before is None and change.doc is None:
                self.changes.pop(key, None)
            else:
                self.changes[key] = change


class IdBlocks:
    """Fresh document ids, unique across processes: blocks of the `doc_ids` sequence.

    The next block is fetched ahead, off the event loop, once a block is half used; only a
    burst faster than that waits on a synchronous fetch.
    """

    def __init__(self, fetch: Callable[[], int], prefetch: Callable[[], None]) -> None:
        self._fetch = fetch
        self._prefetch = prefetch
        self._next = 0
        self._end = 0
        self.spare: int | None = None

    def take(self) -> int:
        if self._next >= self._end:
            if self.spare is None:
                self.spare = self._fetch()
            self._next, self.spare = self.spare, None
            self._end = self._next + ID_BLOCK
        self._next += 1
        if self.spare is None and self._end - self._next <= ID_BLOCK // 2:
            self._prefetch()
        return self._next - 1


class SharedTable(LogTable):
    """A table in memory whose writes go to PostgreSQL; new ids come from the database."""

    def __init__(self, store: PgStore, name: str, ids: IdBlocks) -> None:
        super().__init__(MemoryStorage(), name, store)
        self._ids = ids
        self.listeners: list[Callable[[list[int]], None]] = []

    @staticmethod
    def _encode(doc: dict[str, Any]) -> bytes:
        """The document as JSON, any NUL character as U+FFFD: `jsonb` cannot hold NUL."""
        data = dumps_kept(doc)
        return _NUL.sub(rb"\1\\ufffd", data) if b"\\u0000" in data else data

    def _new_id(self, candidate: int) -> int:
        doc_id = self._ids.take()
        while doc_id in self._docs:  # a document inserted with its own id (a copied store)
            doc_id = self._ids.take()
        return doc_id


class PgStore(Store):
    """All tables of one PostgreSQL database, cached in this process and shared with others."""

    shared = True

    def __init__(
        self,
        url: str,
        data_dir: Path,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        pool_size: int = 20,
    ) -> None:
        self.data_dir = data_dir
        self._lock = None  # no DATA_DIR lock: many processes share the database
        self._engine = None
        self.url = with_link_settings(url)
        self.node = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._pool_size = pool_size
        self._tables: dict[str, SharedTable] = {}
        self._versions: dict[tuple[str, int], int] = {}
        # The queue (an update's batch, or the loose one) holding each document's newest
        # change not yet committed: a later write to it must commit after that one.
        self._producers: dict[tuple[str, int], Batch] = {}
        self._loose = Batch()  # writes made outside an update, committed by a background flush
        self._loose_task: asyncio.Task[None] | None = None
        self._flush_lock: asyncio.Lock | None = None
        self._pool: AsyncConnectionPool | None = None
        self._listener: asyncio.Task[None] | None = None
        self._barriers: dict[str, asyncio.Future[None]] = {}
        self._barrier_count = 0
        self._listening = asyncio.Event()  # the change feed is connected now
        self._listened = False  # it was before (a new connection may have missed changes)
        self._ddl: set[asyncio.Task[None]] = set()  # indexes being created after start
        self._kept = KeptLocks(self.url, _RELEASE_EACH, _TURN_SPACE)
        self._group: GroupCommits[dict[tuple[str, int], Change]] = GroupCommits(
            self._commit_together, _maybe_one_commits
        )
        self._closed = False
        self._sync = self._connect_sync()
        self._ids = IdBlocks(self._next_block, self._prefetch_block)
        self._prefetching: asyncio.Task[None] | None = None
        self._committer: psycopg.AsyncConnection[Any] | None = None  # group commits go on it
        self._committer_stale = False  # the change feed was cut since it connected
        try:
            migrate(self._sync)
            self._refuse_unfinished_copy()
            with no_gc():
                self._load()
            self._migrate_data(migrations)
        except BaseException:
            self.close()
            raise

    def _connect_sync(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the database: {quiet(exc)}") from exc

    def _sync_execute(self, query: str | bytes, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """One statement on the synchronous connection, connecting again if it was cut."""
        for attempt in (1, 2):
            if self._closed:
                raise StoreError("the store is closed")
            if self._sync.closed:  # cut by a database restart or a network failure
                self._sync = self._connect_sync()
            try:
                return self._sync.execute(query, params or None)
            except psycopg.OperationalError as exc:
                if attempt == 2 or not self._sync.closed:
                    raise StoreError(f"database write failed: {quiet(exc)}") from exc
        raise AssertionError("unreachable")

    # --- the Store contract ----------------------------------------------------------------

    @property
    def schema(self) -> int:
        row = self._sync_execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return int(row[0]) if row else 0

    def table(self, name: str, indexes: Sequence[str] = ()) -> SharedTable:
        """Return a table; `indexes` names fields looked up by equality (memory and database)."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = SharedTable(self, name, self._ids)
        new = [f for f in indexes if f not in table.indexed_fields]
        if new:
            with no_gc():
                table.add_indexes(new)
        for name_of_field in new:
            if _NAME.match(name) and _NAME.match(name_of_field):
                self._create_index(name, name_of_field)
        return table

    def _create_index(self, table: str, name_of_field: str) -> None:
        """Create a lookup index: at once before `start`, in the background after it.

        CREATE INDEX waits for every write transaction in flight on the table; once the event
        loop runs, some are this process's own, which could never finish while the loop waited
        (a table first used after start: web chat notices, Zalo menus). Reads go to memory, so
        nothing waits for the index.
        """
        # Under the migration lock: two processes starting together on a new database would
        # otherwise race in CREATE INDEX IF NOT EXISTS and one would fail (a unique violation).
        # One query string is one transaction: the lock is held until the index is made.
        lock = f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK}); "
        sql = (lock + index_sql(table, name_of_field)).encode()
        if self._pool is None:
            self._sync_execute(sql)
            return
        task = asyncio.get_running_loop().create_task(self._create_index_async(sql))
        self._ddl.add(task)
        task.add_done_callback(self._ddl.discard)

    async def _create_index_async(self, sql: bytes) -> None:
        assert self._pool is not None
        try:
            async with self._pool.connection() as conn:
                await conn.execute(sql)
        except psycopg.Error as exc:
            log.warning("could not create an index (%s); lookups still work", quiet(exc))

    def on_change(self, name: str, listener: Callable[[list[int]], None]) -> None:
        """Call `listener(ids)` after another process's commit changed these documents."""
        self.table(name).listeners.append(listener)

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Queue the current task's writes until it awaits `flush` (one transaction per flush).

        Writes left unflushed (the update failed half-way) are committed soon after, as loose
        writes: memory keeps them, as the embedded store's log does.
        """
        batch = Batch()
        token = _BATCH.set((_current_task(), batch))
        try:
            yield
        finally:
            _BATCH.reset(token)
            if batch.changes:
                for key in batch.changes:
                    self._producers[key] = self._loose
                self._loose.absorb(batch)
                batch.changes = {}
                self._schedule_loose()

    async def flush(self, *, ends_turn: bool = False) -> None:
        """Commit the current update's writes and those made outside any update.

        `ends_turn`: nothing more is written in this person's turn, so it is let go as soon
        as the commit is in (their next update, in another process, need not wait longer).
        """
        batch: Batch | None = _mine(_BATCH)
        if batch is not None and batch.changes:
            if batch.after_loose:
                batch.after_loose = False
                await self._flush_loose()
            changes, batch.changes = batch.changes, {}
            try:
                await self._commit_async(changes, batch, _mine(_TURN) if ends_turn else None)
            finally:
                self._release(changes, batch)
        if self._flush_lock is not None:
            await self._flush_loose()  # also waits for a background commit under way

    def maybe_compact(self) -> bool:
        return False  # the database keeps its own files

    def compact(self, wait: bool = True) -> bool:
        return False

    def backup(self, dest: Path) -> int:
        """Write every table as an embedded-store snapshot (`pg_dump` is the database's own)."""
        return write_snapshot(dest, {n: t.frozen() for n, t in self._tables.items()}, self.schema)

    def close(self) -> None:
        self._closed = True
        if not self._sync.closed:
            self._sync.close()

    @contextlib.contextmanager
    def startup_lock(self, name: str) -> Iterator[None]:
        """One process at a time (seeding a new database at start); memory is fresh inside."""
        key = (name, _STARTUP_SPACE)
        self._sync_execute("SELECT pg_advisory_lock(hashtextextended(%s, %s))", key)
        try:
            self._reload()
            yield
        finally:
            with contextlib.suppress(StoreError):  # a cut connection let go of it already
                self._sync_execute(_UNLOCK, key)

    @contextlib.asynccontextmanager
    async def user_turn(self, key: str) -> AsyncIterator[None]:
        """Handle one person's update: their lock in the database, then everything committed.

        A lock this process keeps between the person's turns (see bot/storage/pg_kept.py) needs
        neither: the turn begins at once, and its commit keeps the lock.
        """
        if self._pool is None:
            yield
            return
        kept = self._kept
        if kept.holds(key) or (kept.worth_keeping(key) and await self._take_to_keep(key)):
            kept.begin(key)
            try:
                yield
            finally:
                await kept.end(key)
            return
        async with self._locked(key, _TURN_SPACE) as turn:
            token = _TURN.set((_current_task(), turn))
            try:
                yield
            finally:
                _TURN.reset(token)
        kept.was_here(key)

    async def _take_to_keep(self, key: str) -> bool:
        """Take the person's lock on the keeper if it is free (with the barrier)."""
        conn = await self._kept.connection()
        if conn is None:
            return False
        asked = self._kept.asked_since()
        try:
            taken = await self.barrier(
                conn, lock=(key, _TURN_SPACE), try_only=True, guard=self._kept.statements
            )
        except StoreError:
            await self._kept.lost()
            return False
        if taken:
            self._kept.taken(key, asked)
        return taken

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """One process at a time in this block (e.g. spending the Zalo refresh token)."""
        if self._pool is None:
            yield
            return
        async with self._locked(name, _EXCLUSIVE_SPACE):
            yield
            await self.flush()

    @contextlib.asynccontextmanager
    async def _locked(self, key: str, space: int) -> AsyncIterator[Turn]:
        """A pooled connection holding the advisory lock on `key`, past a barrier, to the end
        (unless the commit ending the turn let it go first: see `flush`).

        After the database restarted, connections taken from the pool before the change feed
        checked it are broken: the lock is then taken once more on a fresh one.
        """
        assert self._pool is not None
        for attempt in (1, 2):
            try:
                async with self._pool.connection() as conn:
                    try:
                        # A person's lock is tried first: if a process keeps it, the try's
                        # notification asks it to let go before this one waits on it.
                        person = space == _TURN_SPACE
                        if not await self.barrier(conn, lock=(key, space), try_only=person):
                            await self.barrier(conn, lock=(key, space))
                    except StoreError:
                        if attempt == 2 or not conn.broken:
                            raise
                    else:
                        turn = Turn(conn, key, space)
                        try:
                            yield turn
                        finally:
                            if turn.locked:
                                with contextlib.suppress(psycopg.Error):
                                    await conn.execute(_UNLOCK, (key, space))
                        return
            except psycopg.OperationalError as exc:  # no connection to be had (PoolTimeout)
                raise StoreError(f"database unreachable: {quiet(exc)}") from exc
            await self._pool.check()

    async def catch_up(self) -> None:
        """Wait until every change committed before now is in memory (a barrier)."""
        if self._pool is None:
            return  # before start: nothing runs beside the command line
        async with self._pool.connection() as conn:
            await self.barrier(conn)

    async def set_if_unchanged(
        self,
        table: LogTable,
        ids: Sequence[int],
        fields: Mapping[str, Any],
        where: Callable[[Document], bool] | None = None,
    ) -> list[int]:
        """Set `fields` on each document still at the version this process read: one statement.

        Rows another transaction holds are skipped (`FOR UPDATE SKIP LOCKED`), rows another
        process changed fail their version check; the others are updated and notified in the
        same statement, one round trip. Writes made outside an update are committed first, so
        the versions compared are the database's; a document an update of this process is
        changing (not committed yet) is left out.
        """
        if self._flush_lock is not None:
            await self._flush_loose()  # also waits for a background commit under way
        name = table.name
        producers = self._producers
        wanted = [  # no await since the flush: the versions are those of the documents judged
            (doc_id, self._versions[(name, doc_id)])
            for doc_id in dict.fromkeys(ids)
            if (name, doc_id) in self._versions
            and (name, doc_id) not in producers
            and meets(table.by_id(doc_id), where)
        ]
        if not wanted:
            return []
        params = {
            "tbl": name,
            "ids": [w[0] for w in wanted],
            "befores": [w[1] for w in wanted],
            "fields": dumps(dict(fields)).decode(),
            "channel": CHANNEL,
            "node": self.node,
            "fits": NOTIFY_MAX // 2,  # a document's text, escaped inside the payload
        }
        try:
            if self._pool is None:
                rows = self._sync.execute(_SET_IF_UNCHANGED, params).fetchall()
            else:
                async with self._connection() as conn:
                    rows = await (await conn.execute(_SET_IF_UNCHANGED, params)).fetchall()
        except psycopg.Error as exc:
            if self._pool is not None:  # the outcome is unknown: read it back
                with contextlib.suppress(psycopg.Error):
                    await self._reread([(name, w[0]) for w in wanted])
            raise StoreError(f"database write failed: {quiet(exc)}") from exc
        done = {int(doc_id): (int(ver), text) for doc_id, ver, text, _note in rows}
        before = dict(wanted)
        for doc_id, (ver, text) in done.items():
            key = (name, doc_id)
            if self._versions.get(key) == before[doc_id]:  # not written here meanwhile
                self._versions[key] = ver
                table.apply("s", {doc_id: loads(text)})
        missed = [(name, doc_id) for doc_id, _v in wanted if doc_id not in done]
        if missed and self._pool is not None:  # changed elsewhere: see how, at once
            await self._reread(missed)
        return [doc_id for doc_id, _v in wanted if doc_id in done]

    def rate_budget(self, name: str, max_rate: float) -> RateBudget:
        """The send budget `name` shared by every process (see bot/storage/budget.py)."""
        return SharedBudget(self._take_slots, name, max_rate)

    async def _take_slots(self, name: str, rate: float, count: int) -> float:
        """Reserve `count` slots `1/rate` apart on schedule `name`; seconds to the first one."""
        if self._pool is None:
            raise StoreError("the store is not started")
        try:
            async with self._connection() as conn:
                cur = await conn.execute(_TAKE_SLOTS, {"name": name, "span": count / rate})
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach the send budget: {quiet(exc)}") from exc
        assert row is not None
        return float(row[0])

    async def take_lease(self, name: str, ttl: float) -> bool:
        """Hold (or renew) the lease `name` for `ttl` seconds unless another live process has it."""
        if self._pool is None:
            return True
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO leases (name, holder, expires_at)"
                " VALUES (%s, %s, now() + make_interval(secs => %s))"
                " ON CONFLICT (name) DO UPDATE"
                " SET holder = excluded.holder, expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at < now()"
                " RETURNING holder",
                (name, self.node, ttl),
            )
            return (await cur.fetchone()) is not None

    async def release_lease(self, name: str) -> None:
        """Give the lease up (a clean stop), so another process takes it at once."""
        if self._pool is not None:
            async with self._pool.connection() as conn:
                await conn.execute(
                    "DELETE FROM leases WHERE name = %s AND holder = %s", (name, self.node)
                )

    async def reachable(self) -> bool:
        """Whether the database answers (for /healthz)."""
        if self._pool is None:
            return not self._sync.closed
        try:
            async with self._pool.connection(timeout=2.0) as conn:
                await conn.execute("SELECT 1")
            return True
        except (TimeoutError, psycopg.Error, OSError):
            return False

    # --- start and stop (inside the event loop) --------------------------------------------

    async def start(self) -> None:
        """Open the pool and start applying other processes' commits."""
        self._flush_lock = asyncio.Lock()
        self._pool = AsyncConnectionPool(
            self.url,
            min_size=2,
            max_size=self._pool_size,
            kwargs={"autocommit": True},
            open=False,
            reconnect_timeout=3600.0,
        )
        await self._pool.open(wait=True)
        self._listener = asyncio.create_task(self._listen(), name="pg-listen")
        await asyncio.wait_for(self._listening.wait(), BARRIER_TIMEOUT)

    async def stop(self) -> None:
        """Commit what is queued, stop listening and close the pool."""
        with contextlib.suppress(StoreError):
            await self.flush()
        await asyncio.gather(*self._ddl, return_exceptions=True)
        await self._kept.stop()
        if self._committer is not None:
            await self._committer.close()
            self._committer = None
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # --- writes ----------------------------------------------------------------------------

    def commit(self, payload: bytes) -> None:
        """Queue one table record (see LogTable); commit it now when no event loop runs."""
        name, op, data = loads(payload)
        versions = self._versions
        if op == "s":
            for key_id, doc in data.items():
                key = (name, int(key_id))
                before = versions.get(key)
                versions[key] = after = (before or 0) + 1
                self._queue_for(key).set(key, before, after, dumps(doc))
        elif op == "r":
            for doc_id in data:
                key = (name, int(doc_id))
                self._queue_for(key).remove(key, versions.pop(key, None))
        elif op == "x":
            for doc_id in self._tables[name].doc_ids():
                key = (name, doc_id)
                self._queue_for(key).remove(key, versions.pop(key, None))
        if self._pool is None:
            changes, self._loose.changes = self._loose.changes, {}
            self._commit_sync(changes)
        elif self._loose.changes:
            self._schedule_loose()

    def _queue_for(self, key: tuple[str, int]) -> Batch:
        """Where a write to this document waits for its commit, keeping this process's order.

        The current update's batch if there is one; otherwise a write on top of another
        update's uncommitted change joins that update's batch (committed with it, in order);
        else the loose queue.
        """
        if self._pool is None:
            return self._loose
        own: Batch | None = _mine(_BATCH)
        producer = self._producers.get(key)
        if own is not None:
            target = own
            if producer is self._loose:
                own.after_loose = True
        elif producer is not None:
            target = producer
        else:
            target = self._loose
        self._producers[key] = target
        return target

    def _release(self, changes: dict[tuple[str, int], Change], owner: Batch) -> None:
        """These changes are committed (or refused): later writes need not wait for them."""
        producers = self._producers
        for key in changes:
            if producers.get(key) is owner and key not in owner.changes:
                del producers[key]

    def _settle(self, changes: dict[tuple[str, int], Change], owner: Batch) -> None:
        """Memory keeps what a commit made durable, even if a refused commit of this process
        read these documents back in the meantime (their older version) and nothing newer
        of this process is queued for them."""
        producers = self._producers
        for (tbl, doc_id), change in changes.items():
            key = (tbl, doc_id)
            if producers.get(key, owner) is not owner or key in owner.changes:
                continue
            now = self._versions.get(key)
            if change.doc is not None and (now is None or now < change.after):
                self._apply_rows([(tbl, doc_id, change.after, change.doc.decode())], force=True)
            elif change.doc is None and now is not None:
                self._apply_rows([], keys=[key], force=True)

    def _schedule_loose(self) -> None:
        if self._loose_task is None or self._loose_task.done():
            self._loose_task = asyncio.get_running_loop().create_task(self._background_flush())

    async def _background_flush(self) -> None:
        await asyncio.sleep(0)  # writes made in the same step share the commit
        while self._loose.changes:  # including those made while the last commit was on its way
            try:
                await self._flush_loose()
            except StoreError:
                log.exception("could not commit writes made outside an update")
                return

    async def _flush_loose(self) -> None:
        assert self._flush_lock is not None
        async with self._flush_lock:  # in the order they were made
            if self._loose.changes:
                changes, self._loose.changes = self._loose.changes, {}
                try:
                    await self._commit_async(changes, self._loose)
                finally:
                    self._release(changes, self._loose)

    def _commit_sync(self, changes: dict[tuple[str, int], Change]) -> None:
        if not changes:
            return
        if self._sync.closed and not self._closed:  # cut since: this write may go ahead
            self._sync = self._connect_sync()
        try:
            self._sync.execute(_COMMIT, _commit_params(changes, self._notices(changes)))
        except _REFUSED as exc:
            self._reread_sync(changes)
            raise StoreConflict(quiet(exc)) from exc
        except psycopg.Error as exc:
            raise StoreError(f"database write failed: {quiet(exc)}") from exc

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The connection of the person whose turn this is, else one from the pool.

        A turn already holds a connection: taking a second one could wait forever when every
        connection of the pool is held by turns doing the same.
        """
        turn = _mine(_TURN)
        if turn is not None:
            yield turn.conn
            return
        assert self._pool is not None
        async with self._pool.connection() as conn:
            yield conn

    async def _commit_async(
        self, changes: dict[tuple[str, int], Change], owner: Batch, ending: Turn | None = None
    ) -> None:
        """Commit the changes `owner` queued (with other updates' commits: see pg_group).

        With `ending`, that turn's lock is let go once they are committed.
        """
        try:
            await self._group.commit(changes)
        except _REFUSED as exc:
            await self._refused(changes)
            raise StoreConflict(quiet(exc)) from exc
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error):
                await self._reread(changes)
            raise StoreError(f"database write failed: {quiet(exc)}") from exc
        self._settle(changes, owner)
        if ending is not None:
            with contextlib.suppress(psycopg.Error):  # else the turn's end tries again
                await ending.conn.execute(_UNLOCK, (ending.key, ending.space))
                ending.locked = False

    async def _commit_together(self, commits: list[dict[tuple[str, int], Change]]) -> None:
        """Several commits (touching different documents) in one statement: see pg_group."""
        changes: dict[tuple[str, int], Change] = {}
        notes: list[str] = []
        for commit in commits:
            changes.update(commit)
            notes += self._notices(commit)
        params = _commit_params(changes, notes)
        conn = await self._committer_connection()
        try:
            await conn.execute(_COMMIT, params)
        except psycopg.OperationalError:
            if not (conn.closed or conn.broken):
                raise  # the server refused it (a version check): the link is fine
            # The link failed (the database restarted, a proxy dropped it): look on a new one.
            outcome = await self._outcome(changes)
            if outcome == "landed":
                return
            if outcome != "untouched":
                raise
            log.info("the database link failed before a commit went in; sending it again")
            await (await self._committer_connection()).execute(_COMMIT, params)

    async def _outcome(self, changes: dict[tuple[str, int], Change]) -> str:
        """Whether a commit whose link failed is in the database: "landed" (every document as
        it made it), "untouched" (every one as it found it), else "unknown"."""
        keys = list(changes)
        try:
            async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                cur = await conn.execute(_SELECT_KEYS, _key_columns(keys))
                rows = {(t, i): (v, text) for t, i, v, text in await cur.fetchall()}
        except psycopg.Error:
            return "unknown"

        def made(key: tuple[str, int], c: Change) -> bool:
            row = rows.get(key)
            if c.doc is None:
                return row is None
            return row is not None and row[0] == c.after and loads(row[1]) == loads(c.doc)

        def found(key: tuple[str, int], c: Change) -> bool:
            row = rows.get(key)
            return row is None if c.before is None else row is not None and row[0] == c.before

        if all(made(k, c) for k, c in changes.items()):
            return "landed"
        if all(found(k, c) for k, c in changes.items()):
            return "untouched"
        return "unknown"

    async def _committer_connection(self) -> psycopg.AsyncConnection[Any]:
        """The connection group commits go on (only the group's sender uses it).

        A connection of its own, not a pooled one: turns may hold every pooled connection while
        they wait for a commit of writes made outside updates, which then could never go.
        """
        conn = self._committer
        if conn is not None and (conn.closed or conn.broken or self._committer_stale):
            await conn.close()  # the database may have restarted: the link is likely cut
            conn = None
        if conn is None:
            self._committer_stale = False
            conn = self._committer = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True
            )
        return conn

    async def _refused(self, changes: dict[tuple[str, int], Change]) -> None:
        """After a refused commit: these documents as stored, and the commit that won applied.

        The winner committed before the refusal, so a barrier brings its other documents too
        (e.g. the order that took the code this one wanted): the update is redone on them.
        """
        await self._reread(changes)
        with contextlib.suppress(StoreError):
            async with self._connection() as conn:
                await self.barrier(conn)

    def _notices(self, changes: dict[tuple[str, int], Change]) -> list[str]:
        """Notification payloads for a commit: its documents when they fit, else their ids."""
        rows = [
            [tbl, doc_id, c.after, None if c.doc is None else c.doc.decode()]
            for (tbl, doc_id), c in changes.items()
        ]
        whole = dumps({"n": self.node, "c": rows}).decode()
        if len(whole.encode()) <= NOTIFY_MAX:
            return [whole]
        out: list[str] = []
        keys = [[tbl, doc_id] for tbl, doc_id in changes]
        step = 200
        for start in range(0, len(keys), step):
            out.append(dumps({"n": self.node, "f": keys[start : start + step]}).decode())
        return out

    # --- reads from the database -------------------------------------------------------------

    def _next_block(self) -> int:
        row = self._sync_execute("SELECT nextval('doc_ids')").fetchone()
        assert row is not None
        return int(row[0])

    def _prefetch_block(self) -> None:
        """Fetch the next block of ids in the background (when the event loop runs)."""
        if self._pool is None or (self._prefetching and not self._prefetching.done()):
            return
        self._prefetching = asyncio.get_running_loop().create_task(self._fetch_block())

    async def _fetch_block(self) -> None:
        assert self._pool is not None
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute("SELECT nextval('doc_ids')")
                row = await cur.fetchone()
        except psycopg.Error as exc:
            log.warning("could not fetch document ids ahead: %s", quiet(exc))
            return
        if row is not None and self._ids.spare is None:
            self._ids.spare = int(row[0])

    def _load(self) -> None:
        """Read every document into memory (at start; other processes' changes come later)."""
        rows: dict[str, list[tuple[int, bytes]]] = {}
        with self._sync.cursor() as cur:
            cur.execute(_SELECT_ALL + " ORDER BY tbl, id")
            for tbl, doc_id, ver, text in cur:
                rows.setdefault(tbl, []).append((doc_id, text.encode()))
                self._versions[(tbl, doc_id)] = ver
        for name, docs in rows.items():
            self.table(name).load_encoded(docs)

    def _refuse_unfinished_copy(self) -> None:
        """A database a migration or restore is still filling is not a store yet."""
        row = self._sync_execute("SELECT value FROM meta WHERE key = %s", (COPY_KEY,)).fetchone()
        if row is not None and not row[0].get("finished"):
            raise StoreError(
                f"the database holds an unfinished copy of {row[0].get('from')}: run the same "
                "`store migrate` or `restore` command again to finish it"
            )

    def _migrate_data(self, migrations: Sequence[Migration]) -> None:
        """Run the data migrations this database has not had, one process at a time."""
        target = 1 + len(migrations)
        self._sync.execute("SELECT pg_advisory_lock(%s)", (_DATA_LOCK,))
        try:
            schema = self.schema
            if schema == 0:
                set_schema(self._sync, target)
                return
            if schema > target:
                raise StoreError(f"the database has schema {schema}; this version knows {target}")
            while schema < target:
                self._reload()  # another process may have migrated meanwhile
                migrations[schema - 1](self)
                schema += 1
                set_schema(self._sync, schema)
        finally:
            self._sync.execute("SELECT pg_advisory_unlock(%s)", (_DATA_LOCK,))

    def _reload(self) -> None:
        """Bring every table in memory up to the database (before start: nothing is queued).

        Only what differs is read and applied: at start, under the seeding lock, memory was
        loaded a moment ago and usually differs in nothing (reading and applying every document
        again took a third of a process's start at 200,000 documents)."""
        versions = self._versions
        with self._sync.cursor() as cur:
            cur.execute("SELECT tbl, id, ver FROM docs")
            stored = {(tbl, doc_id): ver for tbl, doc_id, ver in cur}
        changed = [key for key, ver in stored.items() if versions.get(key) != ver]
        gone = [key for key in versions if key not in stored]
        for start in range(0, len(changed), 5000):
            keys = changed[start : start + 5000]
            with self._sync.cursor() as cur:
                cur.execute(_SELECT_KEYS, _key_columns(keys))
                self._apply_rows(list(cur), keys=keys, force=True)
        if gone:
            self._apply_rows([], keys=gone, force=True)

    def _reread_sync(self, changes: dict[tuple[str, int], Change]) -> None:
        keys = list(changes)
        with self._sync.cursor() as cur:
            cur.execute(_SELECT_KEYS, _key_columns(keys))
            self._apply_rows(list(cur), keys=keys, force=True)

    async def _reread(
        self, changes: dict[tuple[str, int], Change] | list[tuple[str, int]]
    ) -> None:
        """Read these documents back from the database (after a refused commit)."""
        keys = list(changes)
        async with self._connection() as conn:
            cur = await conn.execute(_SELECT_KEYS, _key_columns(keys))
            self._apply_rows(await cur.fetchall(), keys=keys, force=True)

    def _apply_rows(
        self,
        rows: list[tuple[str, int, int, str | None]],
        *,
        keys: list[tuple[str, int]] | None = None,
        everything: bool = False,
        force: bool = False,
    ) -> None:
        """Put database rows into memory; documents in `keys` (or all) but not in rows are gone."""
        found: set[tuple[str, int]] = set()
        changed: dict[str, list[int]] = {}
        versions = self._versions
        for tbl, doc_id, ver, text in rows:
            key = (tbl, doc_id)
            found.add(key)
            if not force and versions.get(key, 0) > ver:
                continue  # this process already wrote a newer version on top of it
            versions[key] = ver
            if text is not None:
                self.table(tbl).apply("s", {doc_id: loads(text)})
                changed.setdefault(tbl, []).append(doc_id)
        missing = keys if keys is not None else []
        if everything:
            missing = [(n, i) for n, t in self._tables.items() for i in t.doc_ids()]
        for key in missing:
            if key not in found and key[0] in self._tables:
                versions.pop(key, None)
                self._tables[key[0]].apply("r", [key[1]])
                changed.setdefault(key[0], []).append(key[1])
        for tbl, ids in changed.items():
            for listener in self._tables[tbl].listeners:
                try:
                    listener(ids)
                except Exception:
                    log.exception("a change listener of %s failed", tbl)

    # --- other processes' commits --------------------------------------------------------------

    async def barrier(
        self,
        conn: psycopg.AsyncConnection[Any],
        lock: tuple[str, int] | None = None,
        *,
        try_only: bool = False,
        guard: asyncio.Lock | None = None,
    ) -> bool:
        """Wait until every change committed before now is in this process's memory.

        With `lock` (key, space), first take that advisory lock in the same statement (one
        round trip): the notification is sent when the statement ends, once the lock is held;
        for a person's turn it says whose (see pg_kept). `try_only`: take the lock only if it is
        free, and return whether it was (the notification goes out either way, so a process
        keeping it lets it go). `guard`: held around the statement (a shared connection).
        """
        self._barrier_count += 1
        token = f"{self._barrier_count}"
        waiter = asyncio.get_running_loop().create_future()
        self._barriers[token] = waiter
        note = {"n": self.node, "b": token}
        if lock is not None and lock[1] == _TURN_SPACE:
            note["k"] = turn_hash(lock[0])
        params = (CHANNEL, dumps(note).decode())
        taken = True
        try:
            # A notice sent while the change feed is away is lost: wait for it to be back.
            await asyncio.wait_for(self._listening.wait(), BARRIER_TIMEOUT)
            async with guard or contextlib.nullcontext():
                if lock is None:
                    await conn.execute(_BARRIER, params)
                elif not try_only:
                    await conn.execute(_LOCK_AND_BARRIER, (*lock, *params))
                else:
                    cur = await conn.execute(_TRY_LOCK_AND_BARRIER, (*lock, *params))
                    row = await cur.fetchone()
                    taken = bool(row and row[0])
            await asyncio.wait_for(waiter, BARRIER_TIMEOUT)
            return taken
        except TimeoutError as exc:
            raise StoreError("the database's change feed is not answering") from exc
        except psycopg.Error as exc:
            raise StoreError(f"database unreachable: {quiet(exc)}") from exc
        finally:
            self._barriers.pop(token, None)

    async def _listen(self) -> None:
        """Apply other processes' commits as they are notified; reconnect and reload if cut off."""
        delay = 0.1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if self._listened:  # a reconnection: changes may have been missed
                        log.info("database change feed back; reading what changed meanwhile")
                        assert self._pool is not None
                        await self._pool.check()  # drop connections the outage cut
                        self._committer_stale = True
                        await self._reread_all()
                    self._listened = True
                    self._listening.set()
                    delay = 0.1
                    async for note in conn.notifies():
                        await self._on_notice(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listening.clear()  # barriers wait until it is back
                await self._kept.lost()  # the database may have restarted: locks gone
                log.warning("database change feed lost (%s); reconnecting", quiet(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _reread_all(self) -> None:
        assert self._pool is not None
        async with self._pool.connection() as conn:
            cur = await conn.execute(_SELECT_ALL)
            self._apply_rows(await cur.fetchall(), everything=True)

    async def _on_notice(self, payload: str) -> None:
        note = loads(payload)
        if note.get("n") == self.node:
            if "b" in note:
                waiter = self._barriers.get(note["b"])
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            return  # this process's own commit: memory already has it
        if "k" in note:  # another process begins a person's turn
            self._kept.elsewhere(str(note["k"]))
        if "c" in note:
            rows = note["c"]
            self._apply_rows(
                [(t, i, v, d) for t, i, v, d in rows if d is not None],
                keys=[(t, i) for t, i, _, d in rows if d is None],
            )
        elif "f" in note:
            keys = [(t, i) for t, i in note["f"]]
            await self._reread(keys)


_DATA_LOCK = 0x4E44_5302
# One statement (its own transaction) carries a commit, or several (pg_group). Each update and
# removal must find the version it read, else nds_expect_rows refuses the whole statement
# (SQLSTATE 40001); a unique index refuses a duplicate (23505). Notifications go out if it
# commits.
# Documents (and notifications) travel as one JSON array each, the documents' JSON as it is:
# as text arrays psycopg escaped every quote of them in Python, most of a commit's CPU time.
_WRITES = """
WITH ins AS (
    INSERT INTO docs (tbl, id, ver, doc)
    SELECT * FROM ROWS FROM (unnest(%s::text[]), unnest(%s::bigint[]), unnest(%s::bigint[]),
        jsonb_array_elements(%s::jsonb))
    RETURNING 1
), upd AS (
    UPDATE docs d SET doc = u.doc, ver = u.ver
    FROM ROWS FROM (unnest(%s::text[]), unnest(%s::bigint[]), unnest(%s::bigint[]),
        jsonb_array_elements(%s::jsonb), unnest(%s::bigint[])) AS u(tbl, id, ver, doc, before)
    WHERE d.tbl = u.tbl AND d.id = u.id AND d.ver = u.before
    RETURNING 1
), del AS (
    DELETE FROM docs d USING unnest(%s::text[], %s::bigint[], %s::bigint[]) AS u(tbl, id, before)
    WHERE d.tbl = u.tbl AND d.id = u.id AND (u.before IS NULL OR d.ver = u.before)
    RETURNING u.before
)
"""
_CHECK_AND_NOTIFY = """
    nds_expect_rows((SELECT count(*) FROM upd) + (SELECT count(before) FROM del), %s),
    (SELECT count(*) FROM ins),
    (SELECT count(pg_notify(%s, p)) FROM jsonb_array_elements_text(%s::jsonb) AS p)
"""
_COMMIT = f"{_WRITES} SELECT {_CHECK_AND_NOTIFY}"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%s, %s))"
# A barrier's notification is no data: its commit need not wait for the disk (a notifying
# transaction has an id, so its commit would otherwise flush the log like any other).
_BARRIER_NOTE = "pg_notify(%s, %s), set_config('synchronous_commit', 'off', true)"
_BARRIER = f"SELECT {_BARRIER_NOTE}"
_LOCK_AND_BARRIER = f"SELECT pg_advisory_lock(hashtextextended(%s, %s)), {_BARRIER_NOTE}"
_TRY_LOCK_AND_BARRIER = f"SELECT pg_try_advisory_lock(hashtextextended(%s, %s)), {_BARRIER_NOTE}"
_RELEASE_EACH = "SELECT pg_advisory_unlock(hashtextextended(k, %s)) FROM unnest(%s::text[]) AS k"
_REFUSED = (psycopg.errors.IntegrityError, psycopg.errors.SerializationFailure)
# Each wanted row still at the version read, and not locked by another claim, gets `fields`;
# each row changed is notified to the other processes (its document when it fits, else its id).
_SET_IF_UNCHANGED = """
WITH want AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(befores)s::bigint[]) AS w(id, before)
), free AS (
    SELECT d.id FROM docs d JOIN want w ON d.id = w.id AND d.ver = w.before
    WHERE d.tbl = %(tbl)s
    FOR UPDATE OF d SKIP LOCKED
), done AS (
    UPDATE docs d SET doc = d.doc || %(fields)s::jsonb, ver = d.ver + 1
    FROM free f WHERE d.tbl = %(tbl)s AND d.id = f.id
    RETURNING d.id, d.ver, d.doc::text AS doc
)
SELECT id, ver, doc, pg_notify(%(channel)s, (CASE WHEN octet_length(doc) <= %(fits)s
    THEN json_build_object('n', %(node)s::text,
        'c', json_build_array(json_build_array(%(tbl)s::text, id, ver, doc)))
    ELSE json_build_object('n', %(node)s::text,
        'f', json_build_array(json_build_array(%(tbl)s::text, id))) END)::text)
FROM done
"""
# GCRA: the slots start at the schedule's end, or now when it is idle; one row lock, one trip.
_TAKE_SLOTS = """
INSERT INTO rate_budgets AS b (name, tat)
VALUES (%(name)s, statement_timestamp() + make_interval(secs => %(span)s))
ON CONFLICT (name) DO UPDATE
SET tat = greatest(b.tat, statement_timestamp()) + make_interval(secs => %(span)s)
RETURNING extract(epoch FROM b.tat - statement_timestamp())::float8 - %(span)s
"""
_SELECT_ALL = "SELECT tbl, id, ver, doc::text FROM docs"
_SELECT_KEYS = (
    "SELECT d.tbl, d.id, d.ver, d.doc::text FROM docs d"
    " JOIN unnest(%s::text[], %s::bigint[]) AS u(tbl, id) ON d.tbl = u.tbl AND d.id = u.id"
)


def _maybe_one_commits(exc: BaseException) -> bool:
    """Whether one commit of a shared statement could have caused this failure: the server
    refused the statement (a version check, a unique value, bad data); the link did not fail
    (no SQLSTATE, or class 08) nor the server stop (class 57), which leave the outcome unknown."""
    state = exc.sqlstate if isinstance(exc, psycopg.Error) else None
    return state is not None and state[:2] not in ("08", "57")


def _key_columns(keys: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    """The parameters of `_SELECT_KEYS`: the keys' tables, then their ids."""
    return [k[0] for k in keys], [k[1] for k in keys]


def _commit_params(changes: dict[tuple[str, int], Change], notes: list[str]) -> list[Any]:
    """The parameters of `_COMMIT` for these changes and notification payloads."""
    ins: list[tuple[Any, ...]] = []
    upd: list[tuple[Any, ...]] = []
    rem: list[tuple[Any, ...]] = []
    ins_docs: list[bytes] = []
    upd_docs: list[bytes] = []
    for (tbl, doc_id), c in changes.items():
        if c.doc is None:
            rem.append((tbl, doc_id, c.before))
        elif c.before is None:
            ins.append((tbl, doc_id, c.after))
            ins_docs.append(c.doc)
        else:
            upd.append((tbl, doc_id, c.after, c.before))
            upd_docs.append(c.doc)
    expected = len(upd) + sum(1 for row in rem if row[2] is not None)
    tbls, ids, vers, befores = _columns(upd, 4)
    return [
        *_columns(ins, 3),
        _json_array(ins_docs),
        tbls,
        ids,
        vers,
        _json_array(upd_docs),
        befores,
        *_columns(rem, 3),
        expected,
        CHANNEL,
        dumps(notes).decode(),
    ]


def _json_array(docs: list[bytes]) -> str:
    """JSON documents as one JSON array, each as it is (nothing escaped)."""
    return (b"[%s]" % b",".join(docs)).decode()


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one array per column (for unnest)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width
