"""The broadcast outbox: one stored row per recipient, and the job that delivers them.

Each row moves pending -> sending -> sent | failed | blocked | skipped (opted out, deleted).

Exactly once, and the window that remains: a network send and a disk write cannot be made
atomic. Rows are claimed - written "sending" with the claimer and the time, a few rows per
commit - BEFORE their messages go out, and each is written "sent" as soon as the platform
answered. A claim is a conditional write (`Store.set_if_unchanged`): on a shared store a row
another process changed or is claiming is left to it, so two processes never send the same
row. A claim whose claimer died is taken over: on the embedded store (one process) any claim
not made by the running sender, on a shared store a claim older than `claim_timeout` (a live
claimer renews its claim before sending when it is a third of that old). Taken-over rows are
sent again, because a missed notice is worse than a repeated one; most of them never went
out, so they are no duplicates. The only possible duplicates are the sends whose request the
platform had accepted but whose "sent" write had not happened: at most one message per send
in flight at the moment of the kill, so at most MAX_IN_FLIGHT per crash (in practice rate x
round-trip time: a fraction of one at 30 msg/s). A graceful stop lets the sends in flight
finish first, so a deploy repeats nobody. A send that timed out (outcome unknown) is retried,
the same window. Nobody is skipped: every row not "sent" is sent again or ends in a stated
status. Every change of a claimed row is conditional too: a sender that lost its claim (it
stalled past the timeout) records nothing over the new claimer's work.

Pacing (bot/services/pacer.py): no 1-second window holds more than `rate` messages as the
platform counts them, conversation replies included (they take their slots first); at most one
message per chat per second; a 429 pauses all sending for its `retry_after`; transient errors
retry with exponential backoff up to MAX_ATTEMPTS; a 403 marks the user blocked. Opt-outs are read from the user right before
each send. The job yields to the event loop between sends, so conversations keep being
answered. Across processes, each send also waits for its turn in the channel's budget in the
store (bot/storage/budget.py: a schedule in the database shared by all processes; on the
embedded store the pacer alone), and a 429 pauses that schedule for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from tinydb.table import Document

from bot.core.types import Button, Reply
from bot.i18n import _, format_number, use_locale
from bot.services.broadcast import CANCELLED, DONE, SENDING, Audience, Broadcast, render
from bot.services.pacer import Pacer, Slot
from bot.services.users import User
from bot.storage.errors import StoreConflict, StoreError

if TYPE_CHECKING:
    from bot.core.clock import Clock
    from bot.core.notify import Notifier
    from bot.services.broadcast import BroadcastRepo
    from bot.services.users import UserRepo
    from bot.storage.budget import RateBudget
    from bot.storage.db import Store

log = logging.getLogger(__name__)

PENDING = "pending"
IN_FLIGHT = "sending"
SENT = "sent"
FAILED = "failed"
BLOCKED = "blocked"
SKIPPED = "skipped"
OUT_OF_REACH = "outside"  # the platform forbids a free message now (Zalo OA's 48-hour window)
STATUSES = (PENDING, IN_FLIGHT, SENT, FAILED, BLOCKED, SKIPPED, OUT_OF_REACH)

MAX_IN_FLIGHT = 4
MAX_ATTEMPTS = 5
BATCH = 500  # pending rows read at a time
# Rows claimed with one commit: about CHUNK_SECONDS of sending, at most MAX_CHUNK.
CHUNK_SECONDS = 0.05
MAX_CHUNK = 16
CLAIM_TIMEOUT = 60.0  # seconds: a claim this old is its dead claimer's (shared store)


class Blocked(Exception):
    """The recipient blocked the bot (Telegram 403): never send to them again."""


class RetryLater(Exception):
    """Try again later: `seconds` from a flood limit (pauses all sending), or None (backoff)."""

    def __init__(self, seconds: float | None = None) -> None:
        super().__init__(f"retry after {seconds}" if seconds is not None else "transient error")
        self.seconds = seconds


class Failed(Exception):
    """A permanent failure for this recipient (bad request, chat not found...)."""


class OutOfReach(Exception):
    """The platform's rules forbid sending now (Zalo OA outside its 48-hour window): skipped."""


class DirectSender(Protocol):
    """A channel's raw sender: one Reply to one chat, raising Blocked / RetryLater / Failed."""

    async def __call__(self, chat_id: str, reply: Reply) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Counts:
    """Where a broadcast's rows stand."""

    by_status: dict[str, int]

    @property
    def total(self) -> int:
        """Every row."""
        return sum(self.by_status.values())

    @property
    def done(self) -> int:
        """Rows that reached a final status."""
        return self.total - self.by_status[PENDING] - self.by_status[IN_FLIGHT]

    def __getitem__(self, status: str) -> int:
        return self.by_status[status]


class Outbox:
    """The outbox table, and the delivery job registered in Services.jobs."""

    def __init__(
        self,
        store: Store,
        users: UserRepo,
        broadcasts: BroadcastRepo,
        notifier: Notifier,
        clock: Clock,
        *,
        rate: float = 30.0,
        max_in_flight: int = MAX_IN_FLIGHT,
        backoff: float = 1.0,
        progress_every: float = 3.0,
        idle_tick: float = 1.0,
        claim_timeout: float = CLAIM_TIMEOUT,
    ) -> None:
        self._store = store
        self._table = store.table("outbox", indexes=("broadcast_id", "status", "user_id"))
        self._users = users
        self.broadcasts = broadcasts
        self._notifier = notifier
        self._clock = clock
        self.pacer = Pacer(rate)
        self._max_in_flight = max_in_flight
        self.backoff = backoff  # seconds before the first retry of a transient error
        self.progress_every = progress_every
        self.drain_seconds = 5.0  # how long a stop waits for the sends in flight
        self._idle_tick = idle_tick
        self.claim_timeout = claim_timeout
        self._senders: dict[str, DirectSender] = {}
        self._budgets: dict[str, RateBudget] = {}
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self.passes = 0  # looks for due work so far (tests wait on it)
        self._claimed: set[int] = set()  # rows this sender holds: being claimed, or claimed
        self._claimer = ""  # who claims, in the rows (this process and run)
        self._progress_task: asyncio.Task[None] | None = None
        self._reported: dict[int, tuple[int, str, bool]] = {}  # last progress told, per broadcast
        self.sends = 0  # calls made to channel senders (for benches and logs)
        self.taken_over = 0  # rows claimed from a sender that died (or stalled)

    # --- rows -----------------------------------------------------------------------------

    def register(self, channel: str, sender: DirectSender) -> None:
        """Let `channel` deliver broadcast messages with its raw sender."""
        self._senders[channel] = sender

    def start(self, broadcast: Broadcast, now: datetime) -> int:
        """Write one pending row per recipient (once), mark the broadcast sending; return count."""
        table = self._table
        total = self._store.count_where(table, {"broadcast_id": broadcast.id})
        if not total:
            audience = Audience.from_dict(broadcast.audience)
            users = self.broadcasts.recipients(audience, broadcast.author_id)
            rows = [
                {
                    "broadcast_id": broadcast.id,
                    "user_id": u.id,
                    "status": PENDING,
                    "attempts": 0,
                    "next_try_at": 0.0,
                }
                for u in users
            ]
            if rows:
                table.insert_multiple(rows)  # one durable record for every recipient
            total = len(rows)
        self.broadcasts.update(
            broadcast.id, status=SENDING, total=total, started_at=now.isoformat()
        )
        self.wake()
        return total

    def counts(self, broadcast_id: int) -> Counts:
        """How many of a broadcast's rows are in each status."""
        table = self._table
        return Counts(
            {
                s: self._store.count_where(table, {"broadcast_id": broadcast_id, "status": s})
                for s in STATUSES
            }
        )

    def cancel(self, broadcast_id: int, now: datetime) -> bool:
        """Stop a scheduled or running broadcast; False if it had already ended."""
        found = self.broadcasts.get(broadcast_id)
        if found is None or found.status in (DONE, CANCELLED):
            return False
        self.broadcasts.update(broadcast_id, status=CANCELLED, finished_at=now.isoformat())
        self.wake()
        return True

    def forget_user(self, user: User) -> None:
        """Drop a deleted user's rows (they will not be sent to)."""
        ids = [d.doc_id for d in self._store.find(self._table, "user_id", user.id)]
        if ids:
            self._table.remove(doc_ids=ids)

    async def _set(self, row_id: int, status: str, **extra: Any) -> None:
        """Record a claimed row's outcome, unless another sender took the claim over."""
        try:
            done = await self._store.set_if_unchanged(
                self._table, [row_id], {"status": status, **extra}, self._ours
            )
        except StoreError:
            log.exception("could not record broadcast row %s as %s", row_id, status)
            return
        if not done:
            log.warning("broadcast row %s was taken over by another sender", row_id)

    async def _claim(self, rows: list[int]) -> list[int]:
        """Claim rows for this sender (one commit); return those it got, in order."""
        now = time.time()
        before: dict[int, str] = {}
        held = set(self._claimed)  # this sender's own claims are never taken over

        def claimable(doc: Document) -> bool:  # judged when the claim is written
            status = str(doc.get("status"))
            if status == PENDING:
                ok = float(doc.get("next_try_at") or 0.0) <= now
            else:
                ok = status == IN_FLIGHT and doc.doc_id not in held and self._claimable(doc, now)
            if ok:
                before[doc.doc_id] = status
            return ok

        self._claimed.update(rows)
        fields = {"status": IN_FLIGHT, "claimed_by": self._claimer, "claimed_at": now}
        try:
            got = set(await self._store.set_if_unchanged(self._table, rows, fields, claimable))
        except StoreError:
            log.exception("could not claim %d broadcast row(s)", len(rows))
            got = set()
        self._claimed.difference_update(set(rows) - got)
        taken = sum(1 for r in got if before.get(r) == IN_FLIGHT)
        if taken:
            self.taken_over += taken
            log.warning("took over %d broadcast row(s) left sending by a stopped sender", taken)
        return [r for r in rows if r in got]

    def _ours(self, doc: Document) -> bool:
        """Whether a row is claimed by this sender."""
        return doc.get("status") == IN_FLIGHT and doc.get("claimed_by") == self._claimer

    def _claimable(self, doc: Mapping[str, Any], now: float) -> bool:
        """Whether a row left "sending" by another sender is to be taken over now."""
        if not self._store.shared:
            return True  # one process: the sender that claimed it has stopped
        return float(doc.get("claimed_at") or 0.0) <= now - self.claim_timeout

    # --- the job --------------------------------------------------------------------------

    @property
    def claimer(self) -> str:
        """Who this sender is in the rows it claims (this process and run)."""
        return self._claimer

    @property
    def budgets(self) -> list[RateBudget]:
        """The channels' send budgets made so far (for benches and logs)."""
        return list(self._budgets.values())

    @property
    def sending(self) -> int:
        """Sends in flight now."""
        return len(self._in_flight)

    @property
    def reporting(self) -> bool:
        """Whether a progress message to an author is on its way."""
        return self._progress_task is not None and not self._progress_task.done()

    def wake(self) -> None:
        """Make the job look for work now (a new or cancelled broadcast)."""
        self._wake.set()

    def job(self) -> Callable[[], Awaitable[None]]:
        """The background job for Services.jobs."""

        async def broadcast_outbox() -> None:
            await self.run()

        return broadcast_outbox

    async def run(self) -> None:
        """Deliver broadcasts forever."""
        self._claimer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        try:
            while True:
                self._wake.clear()  # before looking: a wake() from now on is not lost
                for due in self.broadcasts.due(self._clock.now()):
                    await self._start_due(due)
                active = self.broadcasts.with_status(SENDING)
                for broadcast in active:
                    await self._drain(broadcast.id)
                self.passes += 1
                if not active:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle_tick)
        finally:
            # A stop (deploy, SIGTERM) lets the sends in flight finish and record their outcome,
            # so a graceful restart repeats nobody; only a hard kill leaves rows "sending".
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), timeout=self.drain_seconds)
            for task in list(self._in_flight):
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            for sender in self._senders.values():
                await sender.close()

    async def _start_due(self, broadcast: Broadcast) -> None:
        """Start a scheduled broadcast: its rows and status in one commit, by one process."""
        try:
            with self._store.deferred_sync():
                self.start(broadcast, self._clock.now())
                await self._store.flush()
        except StoreConflict:
            log.info("broadcast %s was started by another process", broadcast.id)

    async def _drain(self, broadcast_id: int) -> None:
        """Send a broadcast's pending rows until none is left or it is cancelled."""
        last_progress = time.monotonic()
        while True:
            broadcast = self.broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.status != SENDING:
                break
            where = {"broadcast_id": broadcast_id, "status": PENDING}
            ids = self._store.find_ids(self._table, where)
            sending = self._store.find_ids(self._table, {**where, "status": IN_FLIGHT})
            if not ids and not sending and not self._in_flight:
                if await self._finish(broadcast):
                    return
                continue
            ready, wait = self._ready(ids[: BATCH * 4], sending)
            if not ready:
                await asyncio.sleep(min(wait, 0.05) if self._in_flight else wait)
                continue
            chunk = max(1, min(MAX_CHUNK, round(self.pacer.rate * CHUNK_SECONDS)))
            if self._store.shared:  # senders elsewhere start elsewhere: fewer claims collide
                turn = random.randrange(len(ready))
                ready = ready[turn:] + ready[:turn]
            claimed = 0
            for start in range(0, len(ready), chunk):
                # One commit claims a few rows before any of them goes out (see above).
                rows = await self._claim(ready[start : start + chunk])
                claimed += len(rows)
                for n, row_id in enumerate(rows):
                    if self._cancelled(broadcast_id):
                        await self._unclaim(rows[n:])
                        break
                    while len(self._in_flight) >= self._max_in_flight:
                        await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                    slot = await self.pacer.acquire()
                    task = asyncio.create_task(self._deliver(broadcast, row_id, slot))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                    if time.monotonic() - last_progress >= self.progress_every:
                        last_progress = time.monotonic()
                        self._progress(broadcast)
                if self._cancelled(broadcast_id):
                    break
            if not claimed:  # the rows are being changed (here by an update, or elsewhere)
                await asyncio.sleep(0.05)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        broadcast = self.broadcasts.get(broadcast_id)
        if (
            broadcast is not None
            and broadcast.status == CANCELLED
            and await self._report_once(broadcast_id)
        ):
            await self._report(broadcast, final=True)

    async def _report_once(self, broadcast_id: int) -> bool:
        """Whether this sender tells the author about a stop: the first to mark it does."""
        for _attempt in range(3):
            found = self.broadcasts.get(broadcast_id)
            if found is None or found.stop_reported:
                return False
            try:
                if await self.broadcasts.update_if(
                    broadcast_id, lambda b: not b.stop_reported, stop_reported=True
                ):
                    return True
            except StoreError:
                log.exception("could not mark broadcast %s's stop reported", broadcast_id)
                return False
        return False

    async def _unclaim(self, rows: list[int]) -> None:
        """Rows claimed that were not handed to a sender go back to pending."""
        try:
            await self._store.set_if_unchanged(
                self._table, rows, {"status": PENDING, "claimed_by": ""}, self._ours
            )
        except StoreError:
            log.exception("could not give %d broadcast row(s) back", len(rows))
        self._claimed.difference_update(rows)

    def _cancelled(self, broadcast_id: int) -> bool:
        found = self.broadcasts.get(broadcast_id)
        return found is None or found.status != SENDING

    def _ready(self, ids: list[int], sending: list[int]) -> tuple[list[int], float]:
        """Rows to claim now (up to BATCH), and how long until the next one is.

        Pending rows whose backoff is over, and rows left "sending" by a sender that stopped.
        """
        now = time.time()
        ready: list[int] = []
        soonest = self._idle_tick
        for row_id in sending:
            doc = self._table.by_id(row_id)
            if doc is None or row_id in self._claimed:
                continue
            if self._claimable(doc, now):
                ready.append(row_id)
            else:
                stale_at = float(doc.get("claimed_at") or 0.0) + self.claim_timeout
                soonest = min(soonest, stale_at - now)
        for row_id in ids:
            if len(ready) >= BATCH:
                break
            if row_id in self._claimed:
                continue
            doc = self._table.by_id(row_id)
            if doc is None:
                continue
            due = float(doc.get("next_try_at") or 0.0)
            if due <= now:
                ready.append(row_id)
            else:
                soonest = min(soonest, due - now)
        return ready[:BATCH], max(soonest, 0.0)

    async def _deliver(self, broadcast: Broadcast, row_id: int, slot: Slot) -> None:
        """Send one row (claimed by the caller, holding a pace slot) and record the outcome."""
        try:
            await self._deliver_claimed(broadcast, row_id, slot)
        finally:
            self._claimed.discard(row_id)
            self.pacer.release(slot, counted=False)

    async def _deliver_claimed(self, broadcast: Broadcast, row_id: int, slot: Slot) -> None:
        """Read the user's consent right before sending; write the row before and after."""
        doc = self._table.by_id(row_id)
        if doc is None or not self._ours(doc):
            return  # no longer ours
        user = self._users.get(int(doc["user_id"]))
        if user is None or not user.consent:
            await self._set(row_id, SKIPPED)
            return
        if user.blocked:
            await self._set(row_id, BLOCKED)
            return
        route = self._route(user)
        if route is None:  # a channel without a raw sender (web chat): best effort, no pacing
            if await self._notifier.notify(
                user, lambda: [render(broadcast.text, broadcast.photo)]
            ):
                await self._set(row_id, SENT, sent_at=time.time())
            else:
                await self._set(row_id, FAILED, error="unreachable")
            return
        channel, chat_id = route
        with use_locale(user.lang):
            reply = render(broadcast.text, broadcast.photo)
        attempts = int(doc.get("attempts") or 0) + 1
        key = f"{channel}:{chat_id}"
        await self.pacer.chat_turn(key)
        budget = self.budget(channel)
        if not await self._turn(row_id, budget):
            return
        try:
            self.sends += 1
            try:
                await self._senders[channel](chat_id, reply)
            finally:
                self.pacer.chat_sent(key)
                self.pacer.release(slot, counted=True)  # a refused send counted too: be safe
        except Blocked:
            await self._set(row_id, BLOCKED, attempts=attempts)
            self._mark_blocked(user.id)
        except RetryLater as exc:
            await self._retry(row_id, attempts, exc.seconds, budget=budget)
        except OutOfReach as exc:
            await self._set(row_id, OUT_OF_REACH, attempts=attempts, error=str(exc)[:200])
        except Failed as exc:
            log.info("broadcast %s to user %s failed: %s", broadcast.id, user.id, exc)
            await self._set(row_id, FAILED, attempts=attempts, error=str(exc)[:200])
        except asyncio.CancelledError:
            raise  # the row stays "sending": taken over later, as documented
        except Exception as exc:  # an unknown error: treat as transient, within the attempts
            log.exception("broadcast %s to user %s: unexpected error", broadcast.id, user.id)
            await self._retry(row_id, attempts, None, str(exc))
        else:
            await self._set(row_id, SENT, attempts=attempts, sent_at=time.time())

    async def _turn(self, row_id: int, budget: RateBudget) -> bool:
        """Wait for the send's turn in the budget; False if the claim was lost meanwhile.

        The claim is sent on only while it is younger than half the timeout (renewed first if a
        third old, checked again after the wait: a 429 may have paused the budget for long),
        so no other sender can take it over before the send is done.
        """
        while await self._still_ours(row_id):
            try:
                await budget.turn()
            except StoreError:
                log.exception("the send budget is unreachable; broadcast row %s waits", row_id)
                return False
            if self._fresh(row_id, self.claim_timeout / 2):
                return True
        return False

    def _fresh(self, row_id: int, age: float) -> bool:
        """Whether the row is claimed by this sender, less than `age` seconds ago."""
        doc = self._table.by_id(row_id)
        if doc is None or not self._ours(doc):
            return False
        return float(doc.get("claimed_at") or 0.0) > time.time() - age

    async def _still_ours(self, row_id: int) -> bool:
        """Whether the claim holds; one a third of the timeout old is renewed first."""
        doc = self._table.by_id(row_id)
        if doc is None or not self._ours(doc):
            return False
        if self._fresh(row_id, self.claim_timeout / 3):
            return True
        try:
            renewed = await self._store.set_if_unchanged(
                self._table, [row_id], {"claimed_at": time.time()}, self._ours
            )
        except StoreError:
            log.exception("could not renew the claim on broadcast row %s", row_id)
            return False
        return bool(renewed)

    def budget(self, channel: str) -> RateBudget:
        """The channel's send budget shared by every process (replies take their turns too)."""
        budget = self._budgets.get(channel)
        if budget is None:
            budget = self._budgets[channel] = self._store.rate_budget(
                f"send:{channel}", self.pacer.rate
            )
        return budget

    async def _retry(
        self,
        row_id: int,
        attempts: int,
        seconds: float | None,
        error: str = "",
        budget: RateBudget | None = None,
    ) -> None:
        if seconds is not None:  # a flood limit: everyone waits, this row is not at fault
            self.pacer.pause(seconds)
            if budget is not None:
                with contextlib.suppress(StoreError):  # this process waits all the same
                    await budget.pause(seconds)
            await self._set(row_id, PENDING, attempts=attempts - 1)
            return
        if attempts >= MAX_ATTEMPTS:
            await self._set(
                row_id, FAILED, attempts=attempts, error=error or "gave up after retries"
            )
            return
        delay = self.backoff * 2 ** (attempts - 1)
        await self._set(row_id, PENDING, attempts=attempts, next_try_at=time.time() + delay)

    def _route(self, user: User) -> tuple[str, str] | None:
        """(channel, chat id) through a channel that has a raw sender."""
        for key in (user.last_channel, *user.ident):
            channel, _sep, chat_id = key.partition(":")
            if channel in self._senders and key in user.ident:
                return channel, chat_id
        return None

    def _mark_blocked(self, user_id: int) -> None:
        user = self._users.get(user_id)
        if user is not None and not user.blocked:
            user.blocked = True
            self._users.save(user)
            log.info("user %s blocked the bot; no more broadcasts to them", user_id)

    # --- telling the author ---------------------------------------------------------------

    async def _finish(self, broadcast: Broadcast) -> bool:
        """Mark the broadcast done and tell its author, in one process; False: look again."""
        finished = self._clock.now().isoformat()
        try:
            done = await self.broadcasts.update_if(
                broadcast.id, lambda b: b.status == SENDING, status=DONE, finished_at=finished
            )
        except StoreError:
            log.exception("could not mark broadcast %s done", broadcast.id)
            await asyncio.sleep(self._idle_tick)
            return False
        if done:
            broadcast.status = DONE
            self._progress(broadcast, final=True)
        return done

    def _progress(self, broadcast: Broadcast, final: bool = False) -> None:
        """Update the author's progress message in the background (never slows sending)."""
        if self._progress_task is not None and not self._progress_task.done() and not final:
            return
        self._progress_task = asyncio.create_task(self._report(broadcast, final))

    async def _report(self, broadcast: Broadcast, final: bool = False) -> None:
        author = self._users.get(broadcast.author_id) if broadcast.author_id else None
        if author is None:
            return
        counts = self.counts(broadcast.id)
        status = self.broadcasts.get(broadcast.id)
        state = status.status if status else broadcast.status
        seen = (counts.done, state, final)
        if self._reported.get(broadcast.id) == seen:
            return  # nothing new: an identical edit is an error on Telegram
        self._reported[broadcast.id] = seen
        try:
            await self._notifier.notify(
                author, lambda: progress_replies(broadcast.id, counts, state, final)
            )
        except Exception:
            log.exception("could not report broadcast %s progress", broadcast.id)


def progress_replies(broadcast_id: int, counts: Counts, state: str, final: bool) -> list[Reply]:
    """The author's progress message (updated in place) and, at the end, the report."""
    key = f"bc{broadcast_id}"
    done = counts.done
    line = _("Broadcast #{id}: sent {done} of {total}").format(
        id=broadcast_id, done=format_number(done), total=format_number(counts.total)
    )
    if not final:
        stop = Button(_("⏹ Stop sending"), f"bc:stop:{broadcast_id}")
        return [Reply(line, buttons=[[stop]], edit_key=key)]
    title = (
        _("<b>Broadcast #{id} was stopped.</b>")
        if state == CANCELLED
        else _("<b>Broadcast #{id} is finished.</b>")
    ).format(id=broadcast_id)
    report = [
        title,
        _("Delivered: {n}").format(n=format_number(counts[SENT])),
        _("Failed: {n}").format(n=format_number(counts[FAILED])),
        _("Blocked the bot: {n}").format(n=format_number(counts[BLOCKED])),
        _("Skipped (opted out): {n}").format(n=format_number(counts[SKIPPED])),
    ]
    if counts[OUT_OF_REACH]:
        report.append(
            _("Out of reach on Zalo now (reply window or quota): {n}").format(
                n=format_number(counts[OUT_OF_REACH])
            )
        )
    left = counts[PENDING] + counts[IN_FLIGHT]
    if left:
        report.append(_("Not sent (stopped): {n}").format(n=format_number(left)))
    return [Reply(line, edit_key=key), Reply("\n".join(report))]
