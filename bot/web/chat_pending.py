"""Notices for web chat sessions, waiting in the store until the session's page collects them.

A notice (an order for a farmer, a broadcast, the team's answer) may be produced by any bot
process while the browser's long poll is held by another. Each notice is a document of
`webchat_pending`, committed before the notifier counts it sent; the process holding the poll
is woken in-process, or by the store's change feed when another process committed it
(`store.on_change`), and hands it over. Uncollected notices are kept for KEEP_DAYS.

Kept notices hold what they tell, e.g. a buyer's name, phone and address in a farmer's order
notice: when a person deletes their data, notices waiting for anyone that mention them go too.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from bot.core.clock import Clock
from bot.services.orders import OrderRepo
from bot.services.users import User
from bot.storage.db import Store
from bot.text import display_phone

TABLE = "webchat_pending"
KEEP_DAYS = 30.0
SWEEP_EVERY = 3600.0


def _texts(value: Any) -> Iterator[str]:
    """Every string in a notice's replies (texts, buttons, links), in NFC."""
    if isinstance(value, str):
        yield unicodedata.normalize("NFC", value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def personal_values(user: User, orders: OrderRepo) -> list[str]:
    """What a notice may tell of a person: their name, phone as written, order addresses."""
    values = [user.name]
    if user.phone:
        shown = display_phone(user.phone)
        values += [user.phone, shown, shown.replace(" ", ""), shown.replace(" ", ".")]
    for order in orders.of_buyer(user.id):
        values += [order.buyer_name, order.address, order.note]
    return [unicodedata.normalize("NFC", v.strip()) for v in values if v and v.strip()]


class Pending:
    """The notices waiting for each web chat session, and the long polls waiting for them."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._table = store.table(TABLE, indexes=("session",))
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        store.on_change(TABLE, self._changed)

    async def put(self, session: str, replies: list[dict[str, Any]]) -> None:
        """Keep replies (as the page draws them) for a session; committed when this returns."""
        async with self._store.committed():
            self._table.insert(
                {"session": session, "replies": replies, "at": self._clock.now().timestamp()}
            )
        self._wake(session)

    def waiting(self, session: str) -> bool:
        """Whether notices wait for this session."""
        return bool(self._store.find(self._table, "session", session))

    async def take(self, session: str) -> list[dict[str, Any]]:
        """The session's notices in the order they were made, no longer kept."""
        docs = self._store.find(self._table, "session", session)
        if not docs:
            return []
        docs.sort(key=lambda d: (float(d.get("at", 0)), d.doc_id))
        async with self._store.committed():
            self._table.remove(doc_ids=[d.doc_id for d in docs])
        return [reply for d in docs for reply in d.get("replies", [])]

    async def wait(self, session: str, timeout: float) -> None:
        """Return when notices wait for the session, or after `timeout` seconds."""
        if self.waiting(session):
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(session, set()).add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        finally:
            waiters = self._waiters.get(session, set())
            waiters.discard(waiter)
            if not waiters:
                self._waiters.pop(session, None)

    def forget(self, sessions: list[str], mentioned: list[str]) -> None:
        """Drop what waits for these sessions, and any notice mentioning one of these values
        as a whole word (a name "An" is not in "Lan" or "Ancestral"), HTML-escaped or not."""
        ids = {d.doc_id for s in sessions for d in self._store.find(self._table, "session", s)}
        values = {v for m in mentioned for v in (m, html.escape(m)) if len(v) > 1}
        if values:
            alternatives = "|".join(map(re.escape, sorted(values, key=len, reverse=True)))
            pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
            for doc in self._table.all():
                if any(pattern.search(text) for text in _texts(doc.get("replies"))):
                    ids.add(doc.doc_id)
        if ids:
            self._table.remove(doc_ids=sorted(ids))

    def sweep(self) -> int:
        """Remove notices nobody collected within KEEP_DAYS; return how many."""
        cutoff = self._clock.now().timestamp() - KEEP_DAYS * 86400
        old = [d.doc_id for d in self._table.all() if float(d.get("at", 0)) < cutoff]
        if old:
            self._table.remove(doc_ids=old)
        return len(old)

    def sweeper(self) -> Callable[[], Awaitable[None]]:
        """The job: sweep once an hour."""

        async def webchat_pending_sweeper() -> None:
            while True:
                self.sweep()
                await asyncio.sleep(SWEEP_EVERY)

        return webchat_pending_sweeper

    def _wake(self, session: str) -> None:
        for waiter in self._waiters.get(session, ()):
            if not waiter.done():
                waiter.set_result(None)

    def _changed(self, ids: list[int]) -> None:
        """Another process committed notices: wake the polls here that wait for them."""
        for doc_id in ids:
            doc = self._table.get(doc_id=doc_id)
            if doc is not None and isinstance(doc, dict):
                self._wake(str(doc.get("session", "")))
