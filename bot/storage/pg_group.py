"""Group commit (PostgreSQL store): the commits of several turns in one statement.

Every commit notifies the other processes, and PostgreSQL lets one notifying transaction
commit at a time, holding a lock through its log flush: concurrent commits queue there anyway,
each paying its own statement, transaction and flush. So one process sends one commit
statement at a time; the commits that turns queue while it is on its way go together in the
next one — each still refused or accepted as a whole, but sharing the round trip, the
transaction and the flush. Under light load a commit goes out at once, alone.

Commits that touch the same document go in separate statements, in the order they were
queued (the later one was computed on the earlier one's result). If a shared statement fails
for a reason one of its commits could cause (a version check, a unique value, bad data), each
commit is sent again on its own, so each gets its own answer; if the connection failed (and
the sender could not tell whether the statement went in), every commit of it gets that
failure and its caller reads back what the database holds.
A large commit (a broadcast's outbox rows) keeps the ones queued behind it waiting for as long
as it takes; they would otherwise wait for its flush at PostgreSQL's notification lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

MAX_CHANGES = 500  # documents in one shared statement at most (one commit alone may be more)

C = TypeVar("C", bound=Mapping[Any, Any])  # one commit's changes, keyed by document


@dataclass
class _Queued(Generic[C]):
    changes: C
    done: asyncio.Future[None]


class GroupCommits(Generic[C]):
    """Queue commits; one statement at a time carries every queued commit it can."""

    def __init__(
        self,
        send: Callable[[list[C]], Awaitable[None]],
        may_be_one_of_them: Callable[[BaseException], bool],
    ) -> None:
        self._send = send  # commits the given commits in one statement, or raises
        self._may_be_one_of_them = may_be_one_of_them  # a failure one commit could cause
        self._queue: list[_Queued[C]] = []
        self._sender: asyncio.Task[None] | None = None
        self.statements = 0  # statements sent (for tests and benchmarks)
        self.commits = 0  # commits they carried

    async def commit(self, changes: C) -> None:
        """Commit these changes (with others queued meanwhile); raise what their commit raised."""
        queued = _Queued(changes, asyncio.get_running_loop().create_future())
        self._queue.append(queued)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())
        await queued.done

    async def _send_queued(self) -> None:
        group: list[_Queued[C]] = []
        try:
            while self._queue:
                group = self._next_group()
                await self._send_group(group)
        finally:  # cancelled (the store stops): nobody waits forever
            for queued in [*group, *self._queue]:
                queued.done.cancel()  # (nothing happens to those answered already)
            self._queue = []

    def _next_group(self) -> list[_Queued[C]]:
        """The queued commits that go together: none touching a document an earlier one does."""
        group: list[_Queued[C]] = []
        later: list[_Queued[C]] = []
        seen: set[Hashable] = set()
        size = 0
        for queued in self._queue:
            keys = queued.changes.keys()
            fits = not group or size + len(keys) <= MAX_CHANGES
            if fits and seen.isdisjoint(keys):
                group.append(queued)
                size += len(keys)
            else:
                later.append(queued)
            seen.update(keys)
        self._queue = later
        return group

    async def _send_group(self, group: list[_Queued[C]]) -> None:
        self.statements += 1
        self.commits += len(group)
        try:
            await self._send([queued.changes for queued in group])
        except Exception as exc:
            if len(group) > 1 and self._may_be_one_of_them(exc):
                for queued in group:  # each on its own: each gets its own answer
                    await self._send_group([queued])
                return
            for queued in group:
                _settle(queued.done, exc)
        else:
            for queued in group:
                _settle(queued.done, None)


def _settle(done: asyncio.Future[None], exc: BaseException | None) -> None:
    with contextlib.suppress(asyncio.InvalidStateError):
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)
