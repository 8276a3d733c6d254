"""Broadcasts on Zalo: the OA's 48-hour window decides who can be reached, and the report says so."""

from __future__ import annotations

from bot.core.clock import FakeClock
from bot.core.fmt import to_plain
from bot.core.types import Reply
from bot.services.broadcast import Audience
from bot.services.outbox import FAILED, OUT_OF_REACH, SENT
from tests.broadcast_helpers import finished
from tests.helpers.driver import Chat
from tests.test_zalo_bot import onboard as onboard_bot
from tests.test_zalo_oa import onboard as onboard_oa
from tests.zalo_helpers import BotUser, OAUser, ZaloBot, zalo

__all__ = ["zalo"]


async def test_oa_users_outside_the_window_are_skipped_and_reported(
    zalo: ZaloBot, clock: FakeClock
) -> None:
    app = zalo.app
    reports: list[str] = []

    async def author_inbox(_chat_id: str, replies: list[Reply]) -> None:
        reports.extend(to_plain(r.text) for r in replies)

    app.services.notifier.register("web", author_inbox)
    author = Chat(app, "web:author", "Tổ CNS")
    await author.onboard(role="buyer", phone="0912000009")
    fresh, stale, bot_user = OAUser(zalo, "fresh"), OAUser(zalo, "stale"), BotUser(zalo, "zb")
    await onboard_oa(stale, phone="0912000001")
    await onboard_oa(fresh, phone="0912000002")
    await onboard_bot(bot_user, phone="0912000003")
    clock.advance(hours=49)
    await fresh.say("menu")  # wrote again: a new window
    assert zalo.oa.can_reach("zalo_oa:fresh") and not zalo.oa.can_reach("zalo_oa:stale")
    outbox = app.services.outbox
    outbox.pacer.per_chat_seconds = outbox.backoff = outbox.progress_every = 0.01
    sender = app.services.users.by_key("web:author")
    assert sender is not None
    now = clock.now()
    made = app.services.broadcasts.create(
        sender, "Mai có tập huấn bán hàng online", "", Audience(areas=["chi-lang"]), now, now, "z1"
    )
    outbox.start(made, now)
    outbox.wake()
    await finished(app, made.id)
    await zalo.settle_bot()
    counts = outbox.counts(made.id)
    assert (counts[SENT], counts[OUT_OF_REACH], counts[FAILED], counts.total) == (2, 1, 0, 3)
    assert zalo.oa_fake.texts("fresh")[-1].endswith("\n\nMai có tập huấn bán hàng online")
    assert "tập huấn" not in zalo.oa_fake.texts("stale")[-1]  # nothing went out of the window
    on_bot = zalo.bot_fake.texts("zb")[-1]
    assert "\n\nMai có tập huấn bán hàng online\n\n1. " in on_bot  # opt-out as a numbered line
    stale_user = app.services.users.by_key("zalo_oa:stale")
    assert stale_user is not None
    rows = app.services.store.find(app.services.store.table("outbox"), "user_id", stale_user.id)
    assert [(r["status"], r["error"][:27]) for r in rows] == [
        (OUT_OF_REACH, "more than 48 hours since th")
    ]
    # The author's report counts the skipped OA user apart, never as delivered or failed.
    assert "Đã nhận: 2\nLỗi: 0" in reports[-1]
    assert "48 giờ" in reports[-1].splitlines()[-1] and reports[-1].endswith(": 1")
