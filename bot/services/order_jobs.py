"""The order clock: remind farmers of unconfirmed orders, then let them expire.

Due times live on the orders themselves (`remind_at`, `expire_at`), so nothing is lost when
the bot restarts: the next pass finds whatever fell due while it was down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.services.order_notices import (
    tell_buyer_change,
    tell_expired,
    tell_farmer_cancelled,
    tell_reminder,
)
from bot.services.orders import NEW, OrderRefused

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0
MIN_TICK_SECONDS = 1.0  # never busier than this, whatever is due
NOTICE_TRIES = 10  # passes a failing notice is tried on (about five minutes)


def _due(iso: str, now: datetime) -> bool:
    return bool(iso) and datetime.fromisoformat(iso) <= now


async def run_due(services: Services) -> int:
    """One pass over unconfirmed orders: expire or remind those due; return how many.

    Each change is written (fsync'd) BEFORE its messages go out. A crash between the two loses
    those messages rather than repeating them on every restart: the order's status is what
    counts, and both parties still see it under "Đơn hàng" / "Đơn của tôi".
    """
    orders = services.orders
    handled = 0
    for order in orders.with_status(NEW):
        now = services.clock.now()
        if _due(order.expire_at, now):
            # After a long outage an order may be due for both: only the expiry is told.
            try:
                expired = orders.cancel(order.id, "expired", "", now)
            except OrderRefused:  # confirmed or cancelled while we were notifying others
                continue
            handled += 1
            await tell_expired(services, expired)
        elif not order.reminded_at and _due(order.remind_at, now):
            reminded = orders.remind(order.id, now)
            if reminded is None:
                continue
            handled += 1
            await tell_reminder(services, reminded)
    return handled


async def send_notices(services: Services) -> int:
    """Tell parties of cancellations noted for them (`Order.notice`); return how many went.

    They are written where telling at once is impossible (a user's data deletion runs in a
    synchronous hook) or may be cut short (a crash, a channel failing). The notice is cleared
    after the message went out: a crash in between may repeat one message, never lose it. A
    failed send is tried again on later passes, NOTICE_TRIES times at most; a party no channel
    can reach (deleted, blocked) is not waited for.
    """
    orders = services.orders
    sent = 0
    for order in orders.notices():
        party = order.buyer_id if order.notice == "buyer" else order.farmer_id
        user = services.users.get(party) if party else None
        if user is None or user.blocked or not services.notifier.routes(user):
            orders.told(order.id, services.clock.now())
            continue
        if order.notice == "buyer":
            went = await tell_buyer_change(services, order)
        else:
            went = await tell_farmer_cancelled(services, order)
        now = services.clock.now()
        if went:
            orders.told(order.id, now)
            sent += 1
        elif orders.notice_failed(order.id, now) >= NOTICE_TRIES:
            log.warning("gave up telling the %s of order %s", order.notice, order.id)
            orders.told(order.id, now)
    return sent


def seconds_to_next(services: Services) -> float:
    """Until the next reminder or expiry of the orders known now: at most TICK_SECONDS.

    Short reminder and expiry times (ORDER_REMINDER_HOURS=0.01) then fire on time, not up to a
    tick late; an order placed meanwhile waits for the next pass, as before.
    """
    now = services.clock.now()
    soonest = TICK_SECONDS
    for order in services.orders.with_status(NEW):
        for iso in (order.expire_at, "" if order.reminded_at else order.remind_at):
            if iso:
                soonest = min(soonest, (datetime.fromisoformat(iso) - now).total_seconds())
    return max(soonest, MIN_TICK_SECONDS)


def order_clock(services: Services) -> Callable[[], Awaitable[None]]:
    """The background job: a pass every TICK_SECONDS (sooner when an order falls due), forever."""

    async def order_clock_job() -> None:
        while True:
            delay = TICK_SECONDS
            try:
                await run_due(services)
                await send_notices(services)
                delay = seconds_to_next(services)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("order reminders/expiry pass failed; trying again next tick")
            await asyncio.sleep(delay)

    return order_clock_job
