"""Broadcasts on Zalo: the OA's 48-hour window decides who can be reached, and the report says so."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FakeClock
from bot.core.fmt import to_plain
from bot.core.types import Reply
from bot.services.broadcast import Audience
from bot.services.outbox import FAILED, OUT_OF_REACH, SENT
from tests.broadcast_helpers import finished
from tests.helpers.driver import Chat
from tests.helpers.msgids import pattern
from tests.test_zalo_bot import onboard as onboard_bot
from tests.test_zalo_oa import onboard as onboard_oa
from tests.zalo_helpers import BotUser, OAUser, ZaloBot, zalo

FAILED_N = "Failed: {n}"
OUT_OF_REACH_N = "Out of reach on Zalo now (reply window or quota): {n}"


def has_line(report: str, msgid: str, **values: object) -> bool:
    """Whether a line of the report is exactly the message `msgid` with these values."""
    shown = pattern(msgid, **values)
    return any(shown.fullmatch(line.strip()) for line in report.splitlines())


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
    assert has_line(reports[-1], "Delivered: {n}", n=2) and has_line(reports[-1], FAILED_N, n=0)
    assert has_line(reports[-1].splitlines()[-1], OUT_OF_REACH_N, n=1), reports[-1]


async def test_zalo_refusals_are_counted_apart_and_unknown_codes_as_failed(
    zalo: ZaloBot, clock: FakeClock
) -> None:
    app, fake = zalo.app, zalo.oa_fake
    reports: list[str] = []

    async def author_inbox(_chat_id: str, replies: list[Reply]) -> None:
        reports.extend(to_plain(r.text) for r in replies)

    app.services.notifier.register("web", author_inbox)
    author = Chat(app, "web:author", "Tổ CNS")
    await author.onboard(role="buyer", phone="0912000009")
    people = {name: OAUser(zalo, name) for name in ("ok", "quiet", "quota", "odd")}
    await onboard_oa(people["quiet"], phone="0912000001")
    clock.advance(hours=30)
    for n, name in enumerate(("ok", "quota", "odd"), 2):
        await onboard_oa(people[name], phone=f"091200000{n}")
    # Inside the bot's own 48-hour book, all four; Zalo says otherwise for three of them.
    assert all(zalo.oa.can_reach(f"zalo_oa:{name}") for name in people)
    fake.window = timedelta(hours=24)  # "quiet" wrote 30 hours ago: -230
    fake.refusals.update({"quota": -232, "odd": -999})
    outbox = app.services.outbox
    outbox.pacer.per_chat_seconds = outbox.backoff = outbox.progress_every = 0.01
    sender = app.services.users.by_key("web:author")
    assert sender is not None
    now = clock.now()
    made = app.services.broadcasts.create(
        sender, "Mai có tập huấn", "", Audience(areas=["chi-lang"]), now, now, "z2"
    )
    outbox.start(made, now)
    outbox.wake()
    await finished(app, made.id)
    counts = outbox.counts(made.id)
    assert (counts[SENT], counts[OUT_OF_REACH], counts[FAILED]) == (1, 2, 1)
    assert zalo.oa_fake.texts("ok")[-1].endswith("Mai có tập huấn")
    assert sorted(code for code, _why in fake.errors) == [-999, -232, -230]
    assert fake.refreshes == 2  # start-up, and once ahead of expiry; never for a refusal
    # Refused users are not tried again until they write; then they are reachable again.
    assert not zalo.oa.can_reach("zalo_oa:quiet") and not zalo.oa.can_reach("zalo_oa:quota")
    assert zalo.oa.can_reach("zalo_oa:odd")  # an unknown error says nothing of the window
    await people["quiet"].say("menu")
    assert zalo.oa.can_reach("zalo_oa:quiet")
    assert has_line(reports[-1], "Delivered: {n}", n=1) and has_line(reports[-1], FAILED_N, n=1)
    assert has_line(reports[-1].splitlines()[-1], OUT_OF_REACH_N, n=2), reports[-1]
