"""Views derived from a few tables, read once and then kept up to date document by document.

A view (the province's figures, the lesson standings of each area) takes every document once;
after that each look takes only the documents set or removed since the last one, which the
tables journal whoever made the change: a write in this process or one read from another
process's. So a figure costs what changed, not what exists, and no writer has to tell it.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from bot.storage.table import LogTable

Doc = dict[str, Any]
CHUNK = 1000  # documents per step of a build: a step holds the event loop 5-20 ms
KEEP_UP_EVERY = 1.0  # seconds between catching up in the background (each look catches up too)


class View(Protocol):
    """Something computed from documents of a few tables, one document at a time."""

    def take(self, table: int, doc_id: int, doc: Doc | None) -> None:
        """Count `doc` of tables[table] as it is now, instead of any earlier version.

        None: the document was removed. Tables are taken in their order, so a view may look
        up what it took from earlier tables.
        """

    def settle(self, table: int) -> None:
        """Every change of tables[table] was taken: bring up to date what depends on them."""


V = TypeVar("V", bound=View)
H = TypeVar("H", bound=Hashable)


class Shared:
    """Equal small values a view holds for many documents (an area and month, a few flags),
    kept as one object each: a province's worth of copies would cost tens of MB."""

    def __init__(self) -> None:
        self._seen: dict[Any, Any] = {}

    def __call__(self, value: H) -> H:
        return self._seen.setdefault(value, value)


@dataclass
class _Build(Generic[V]):
    """A whole reading under way: the view so far, the tables' generations when it began, and
    the steps left."""

    view: V
    read: list[int]
    steps: Iterator[bool]


class Follower(Generic[V]):
    """A view of some tables and, for each table, how far the view has read it."""

    def __init__(self, tables: Sequence[LogTable], make: Callable[[], V]) -> None:
        self.tables = tuple(tables)
        self._make = make
        self._view: V | None = None
        self._build: _Build[V] | None = None
        self._read = [0] * len(self.tables)
        self.builds = 0  # whole reads so far (the first one, and any after falling behind)

    @property
    def ready(self) -> bool:
        """Whether the view was built (a look then only catches up)."""
        return self._view is not None

    def view(self) -> V:
        """The view, brought up to date with every change made so far.

        Before the first reading is done, this finishes it here and now: the steps the
        background warm-up has not taken yet, never a second reading.
        """
        if self._view is not None and self._catch_up(self._view):
            return self._view
        self._view = None
        while self._view is None:
            build = self._build or self._start()
            for _step in build.steps:
                pass
            self._finish(build)
        return self._view

    def job(self, name: str) -> Callable[[], Awaitable[None]]:
        """A background job: build the view early, then keep up, so a look finds little to do."""

        async def keep_up() -> None:
            await self.warm()
            while True:
                await asyncio.sleep(KEEP_UP_EVERY)
                self.view()

        keep_up.__name__ = name
        return keep_up

    async def warm(self) -> None:
        """Build the view a chunk at a time, letting the event loop run in between."""
        while self._view is None:
            build = self._build or self._start()
            if next(build.steps, False):
                await asyncio.sleep(0)
            else:
                self._finish(build)

    def _start(self) -> _Build[V]:
        view = self._make()
        self._build = _Build(view, [t.generation for t in self.tables], self._read_all(view))
        return self._build

    def _finish(self, build: _Build[V]) -> None:
        """Install a finished reading, with what changed while it was under way."""
        self._build = None
        self._read = build.read
        self.builds += 1
        if self._catch_up(build.view):  # else it fell too far behind: read again
            self._view = build.view
            gc.freeze()  # as the store does: no full collection walks a province of entries

    def _read_all(self, view: V) -> Iterator[bool]:
        """Give the view every document, a chunk per step."""
        for pos, table in enumerate(self.tables):
            ids = table.find_ids({})
            for start in range(0, len(ids), CHUNK):
                self._take(view, pos, ids[start : start + CHUNK])
                yield True
            view.settle(pos)

    def _catch_up(self, view: V) -> bool:
        """Take the documents changed since the last look; False if that is no longer known."""
        changes = [t.changes_since(read) for t, read in zip(self.tables, self._read, strict=True)]
        if any(ids is None for ids in changes):
            return False
        self._read = [t.generation for t in self.tables]
        if any(changes):
            for pos, ids in enumerate(changes):
                if ids:
                    self._take(view, pos, list(dict.fromkeys(ids)))
                view.settle(pos)
        return True

    def _take(self, view: V, pos: int, ids: list[int]) -> None:
        """Give the view these documents as they are now (None for the removed ones)."""
        found = dict(self.tables[pos].items(ids))
        for doc_id in ids:
            view.take(pos, doc_id, found.get(doc_id))
