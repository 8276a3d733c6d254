"""Unconfirmed orders: a reminder, then expiry — from the store, across restarts, never twice."""

from __future__ import annotations

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.services.order_jobs import run_due
from bot.services.orders import CANCELLED, NEW
from tests.helpers.driver import Chat, make_app
from tests.helpers.waiting import wait_until
from tests.orders_helpers import Inbox, add_listing, order_form, user_id


async def _placed(app: BotApp) -> tuple[Chat, Chat, int]:
    farmer = Chat(app, "web:farmer", "Hoàng Thị Hoa")
    buyer = Chat(app, "web:buyer", "Nguyễn Văn Minh")
    await farmer.onboard(role="farmer")
    await buyer.onboard(role="buyer", phone="0987654321")
    listing = add_listing(app, farmer, stock="10")
    await order_form(buyer, listing, "10 kg")
    await buyer.tap("cf:yes")
    return farmer, buyer, app.services.orders.of_buyer(user_id(app, buyer))[0].id


async def test_reminder_then_expiry_across_restarts(app: BotApp, clock: FakeClock) -> None:
    inbox = Inbox(app)
    farmer, buyer, order_id = await _placed(app)
    inbox.take(farmer.user_key)

    clock.advance(hours=11, minutes=59)
    assert await run_due(app.services) == 0
    clock.advance(minutes=2)
    assert await run_due(app.services) == 1
    reminder = inbox.take_replies(farmer.user_key)
    assert len(reminder) == 1 and "DH2611-0001" in reminder[0].text
    assert f"ord:ok:{order_id}" in [b.payload for row in reminder[0].buttons for b in row]
    assert "DH2611-0001" in inbox.take(buyer.user_key)
    assert await run_due(app.services) == 0  # not reminded twice

    data_dir = app.settings.data_dir
    await app.stop()
    app = make_app(data_dir, clock)
    try:
        inbox = Inbox(app)
        assert await run_due(app.services) == 0  # a restart does not repeat the reminder
        clock.advance(hours=12)
        assert await run_due(app.services) == 1
        order = app.services.orders.get(order_id)
        assert order is not None and order.status == CANCELLED
        assert order.cancelled_by == "expired"
        assert "DH2611-0001" in inbox.take(farmer.user_key)
        assert "DH2611-0001" in inbox.take(buyer.user_key)
        # The 10 kg are free again.
        listing = app.services.orders.listings.get(order.listing_id)
        assert listing is not None and app.services.orders.available(listing) == 10
        # A late tap on the old Confirm button is refused politely.
        farmer2 = Chat(app, "web:farmer", "Hoàng Thị Hoa")
        await farmer2.tap(f"ord:ok:{order_id}")
        assert app.services.orders.get(order_id).status == CANCELLED  # type: ignore[union-attr]
    finally:
        await app.stop()

    app = make_app(data_dir, clock)
    try:
        inbox = Inbox(app)
        clock.advance(days=3)
        assert await run_due(app.services) == 0  # expired once, told once
        assert inbox.sent == {}
    finally:
        await app.stop()


async def test_orders_due_while_the_bot_was_down_are_handled_on_start(
    app: BotApp, clock: FakeClock
) -> None:
    _farmer, buyer, order_id = await _placed(app)
    data_dir = app.settings.data_dir
    await app.stop()
    clock.advance(hours=30)  # both the reminder and the expiry fell due while down
    app = make_app(data_dir, clock)
    try:
        inbox = Inbox(app)
        assert await run_due(app.services) == 1
        assert app.services.orders.get(order_id).status == CANCELLED  # type: ignore[union-attr]
        told = inbox.take_replies(buyer.user_key)
        assert len(told) == 1 and "DH2611-0001" in told[0].text  # the expiry; no stale reminder
    finally:
        await app.stop()


async def test_confirmed_orders_are_neither_reminded_nor_expired(
    app: BotApp, clock: FakeClock
) -> None:
    farmer, _buyer, order_id = await _placed(app)
    await farmer.tap(f"ord:ok:{order_id}")
    clock.advance(hours=48)
    assert await run_due(app.services) == 0
    assert app.services.orders.get(order_id).status != NEW  # type: ignore[union-attr]


async def test_the_job_runs_from_the_app_and_stops_cleanly(app: BotApp, clock: FakeClock) -> None:
    inbox = Inbox(app)
    farmer, _buyer, order_id = await _placed(app)
    inbox.take(farmer.user_key)
    clock.advance(hours=25)
    app.start_jobs()
    orders = app.services.orders
    await wait_until(
        lambda: orders.get(order_id).status == CANCELLED,  # type: ignore[union-attr]
        "the order job's first pass to expire the order",
    )
    assert app.services.orders.get(order_id).status == CANCELLED  # type: ignore[union-attr]
    assert "DH2611-0001" in inbox.take(farmer.user_key)
