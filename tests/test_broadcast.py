"""Broadcasts through the engine: who may send to whom, audience counts, delivery outcomes."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.services.broadcast import CANCELLED, DONE, SCHEDULED
from bot.services.outbox import MAX_ATTEMPTS, SENT, Blocked, RetryLater
from bot.services.pacer import Pacer
from bot.services.users import BUYER
from bot.text import clean
from handlers.broadcast import parse_when
from tests.broadcast_helpers import compose, finished, seed, team_member, until, wire
from tests.helpers.driver import Chat, make_app
from tests.helpers.msgids import said


async def test_a_farmer_cannot_broadcast(app: BotApp) -> None:
    wire(app)
    farmer = Chat(app, "web:s100")
    seed(app, 1)
    await farmer.say("/menu")
    assert not any(said(label, "Send a notice") for label, _p in farmer.buttons())
    await farmer.say("/thongbao")
    assert farmer.said("Sorry, only the digital-tech team of a commune can send notices.")
    await farmer.say("Thông báo giả mạo")
    assert farmer.said("Sorry, only the digital-tech team of a commune can send notices.")
    assert app.services.broadcasts.with_status(SCHEDULED) == []
    team = await team_member(app, ["chi-lang"])
    broadcast_id = await compose(team)
    await farmer.tap(f"bc:stop:{broadcast_id}")  # a forged stop button
    assert farmer.said("Sorry, only its author or an administrator can stop this notice.")
    found = app.services.broadcasts.get(broadcast_id)
    assert found is not None and found.status != CANCELLED


async def test_a_team_member_cannot_reach_another_area(app: BotApp) -> None:
    wire(app)
    seed(app, 2, area="bac-son")
    team = await team_member(app, ["chi-lang", "that-khe"])
    await team.say("/thongbao")
    await team.say("Họp tổ")
    await team.tap("nophoto")
    labels = [label for label, _p in team.buttons()]
    assert any("Chi Lăng" in x for x in labels) and not any("Bắc Sơn" in x for x in labels)
    await team.say("bac son")
    assert team.said("Sorry, you can only send notices to the communes of your own team.")
    await team.tap("area:bac-son")  # a forged button
    assert team.said("That button is from an earlier message. Please answer this question:")
    await team.tap("areas:all")  # the admins' "every commune"
    assert team.said("That button is from an earlier message. Please answer this question:")
    await team.tap("areas:mine")
    assert "Xã Chi Lăng, Xã Thất Khê" in team.text()
    assert team.said(
        "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue.",
        count=0,
    )


async def test_audience_count_follows_area_role_crop_and_consent(app: BotApp) -> None:
    wire(app)
    farmers = seed(app, 3)
    seed(app, 2, area="bac-son", first=200)
    users = app.services.users
    farmers[0].consent = False  # opted out: not counted
    users.save(farmers[0])
    farmers[1].crops = ["hoi"]
    users.save(farmers[1])
    buyer = seed(app, 1, first=300)[0]
    buyer.role, buyer.crops = BUYER, []
    users.save(buyer)
    team = await team_member(app, ["chi-lang"])
    await team.say("/thongbao")
    await team.say("Giá na tăng")
    await team.tap("nophoto")
    assert team.said(
        "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue.",
        count=3,
    )  # 2 farmers and the buyer (not the author)
    await team.tap("aud:role")
    assert team.said(
        "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue.",
        count=2,
    )
    await team.tap("aud:crop")
    await team.say("na chi lang")
    assert team.said(
        "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue.",
        count=1,
    )
    await team.tap("aud:role")
    assert team.said(
        "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue.",
        count=0,
    )  # buyers growing na: nobody
    await team.tap("aud:go")
    assert team.said("Nobody matches this audience yet. Change who gets it, or cancel.")
    assert "pv:send" not in [p for _l, p in team.buttons()]


async def test_preview_is_what_recipients_get_exactly_once(app: BotApp) -> None:
    recorder, inbox = wire(app)
    seed(app, 5)
    team = await team_member(app, ["chi-lang"])
    app.start_jobs()
    text = "Tập huấn <b>livestream</b> & bán hàng"
    await team.say("/thongbao")
    await team.say(text)
    await team.tap("nophoto")
    await team.tap("aud:go")
    preview = team.last[1]
    assert "&lt;b&gt;livestream&lt;/b&gt; &amp;" in preview.text
    assert team.said(
        "Above is exactly what they will see. It goes to <b>{count}</b> people in {areas}.",
        count=5,
    )
    await team.tap("pv:send")
    broadcast_id = int(re.search(r"#(\d+)", team.text()).group(1))  # type: ignore[union-attr]
    await team.tap("pv:send")  # a double tap after the flow ended does not send twice
    await finished(app, broadcast_id)
    chats = [f"s{i}" for i in range(100, 105)]
    assert all(recorder.count(c) == 1 for c in chats), recorder.delivered
    got = recorder.delivered[0][1]
    assert got.text == preview.text
    assert [b.payload for row in got.buttons for b in row] == ["bc:off"]
    await until(lambda: said(inbox.text("team"), "<b>Broadcast #{id} is finished.</b>"))
    assert said(inbox.text("team"), "Delivered: {n}", n=5)
    assert recorder.count("team") == 0
    assert any(r.edit_key == f"bc{broadcast_id}" for r in inbox.got["team"])


async def test_opting_out_mid_broadcast_takes_effect_at_once(app: BotApp) -> None:
    recorder, inbox = wire(app)
    seed(app, 4)
    team = await team_member(app, ["chi-lang"])
    late = Chat(app, "web:s103")

    async def opt_out_during_first_send(chat_id: str, call: int) -> None:
        if call == 1:
            await late.tap("bc:off")

    recorder.hook = opt_out_during_first_send
    app.start_jobs()
    broadcast_id = await compose(team)
    await finished(app, broadcast_id)
    assert late.said(
        "Done: you will not receive notices from the digital-tech team any more. To get them again: /batthongbao"
    )
    assert recorder.count("s103") == 0
    assert recorder.count("s100") == 1
    await until(lambda: said(inbox.text("team"), "<b>Broadcast #{id} is finished.</b>"))
    assert said(inbox.text("team"), "Skipped (opted out): {n}", n=1)
    await late.say("/batthongbao")
    user = app.services.users.by_key("web:s103")
    assert user is not None and user.consent


async def test_a_flood_limit_pauses_and_the_message_is_sent_once_later(app: BotApp) -> None:
    recorder, _inbox = wire(app)
    seed(app, 3)
    team = await team_member(app, ["chi-lang"])
    recorder.errors["s101"] = [RetryLater(0.2)]
    app.start_jobs()
    broadcast_id = await compose(team)
    await finished(app, broadcast_id)
    assert [recorder.count(c) for c in ("s100", "s101", "s102")] == [1, 1, 1]
    assert recorder.calls == 4
    assert app.services.outbox.counts(broadcast_id)[SENT] == 3


async def test_a_user_who_blocked_the_bot_is_marked_and_not_sent_again(app: BotApp) -> None:
    recorder, inbox = wire(app)
    seed(app, 3)
    team = await team_member(app, ["chi-lang"])
    recorder.always["s101"] = Blocked("403")
    app.start_jobs()
    first = await compose(team)
    await finished(app, first)
    user = app.services.users.by_key("web:s101")
    assert user is not None and user.blocked
    await until(lambda: "Đã chặn Nông Dân Số: 1" in inbox.text("team"))
    calls = recorder.calls
    second = await compose(team, "Lần hai")
    await finished(app, second)
    assert recorder.calls == calls + 2  # s100 and s102; not s101


async def test_transient_errors_are_retried_then_given_up(app: BotApp) -> None:
    recorder, inbox = wire(app)
    seed(app, 2)
    team = await team_member(app, ["chi-lang"])
    recorder.errors["s100"] = [RetryLater(None), RetryLater(None)]
    recorder.always["s101"] = RetryLater(None)
    app.start_jobs()
    broadcast_id = await compose(team)
    await finished(app, broadcast_id)
    assert recorder.count("s100") == 1
    assert recorder.count("s101") == 0
    assert recorder.calls == 3 + MAX_ATTEMPTS
    await until(lambda: said(inbox.text("team"), "Failed: {n}", n=1))


async def test_the_author_stops_a_broadcast_mid_way(app: BotApp) -> None:
    recorder, inbox = wire(app)
    seed(app, 10)
    team = await team_member(app, ["chi-lang"])
    author = Chat(app, "web:team")

    async def stop_at_third(chat_id: str, call: int) -> None:
        if call == 3:
            await author.tap(f"bc:stop:{broadcast_id}")

    recorder.hook = stop_at_third
    app.services.outbox.pacer.rate = (
        100.0  # sends 10 ms apart: the stop lands before the rest start
    )
    broadcast_id = 1
    app.start_jobs()
    assert await compose(team) == broadcast_id
    await finished(app, broadcast_id)
    assert author.said("Notice #{id} is stopped: nobody else will receive it.", id=1)
    assert 2 <= len(recorder.delivered) < 10
    await until(lambda: said(inbox.text("team"), "<b>Broadcast #{id} was stopped.</b>"))
    assert said(inbox.text("team"), "Not sent (stopped): {n}")
    await author.tap(f"bc:stop:{broadcast_id}")
    assert author.said("This notice has already finished.")


async def test_a_scheduled_broadcast_waits_for_its_time(app: BotApp, clock: FakeClock) -> None:
    recorder, _inbox = wire(app)
    seed(app, 2)
    team = await team_member(app, ["chi-lang"])
    app.start_jobs()
    await team.say("/thongbao")
    await team.say("Nhắc lịch tiêm phòng")
    await team.tap("nophoto")
    await team.tap("aud:go")
    await team.tap("pv:later")
    await team.say("18:00")  # the test clock is 15:00 in Vietnam
    assert "18:00 26/11/2026" in team.text()
    found = app.services.broadcasts.with_status(SCHEDULED)
    assert len(found) == 1
    outbox = app.services.outbox
    passes = outbox.passes
    outbox.wake()
    await until(lambda: outbox.passes >= passes + 2, "a whole outbox pass after the wake-up")
    assert recorder.calls == 0
    clock.advance(hours=3, minutes=1)
    app.services.outbox.wake()
    await finished(app, found[0].id)
    assert len(recorder.delivered) == 2


async def test_restart_mid_broadcast_resumes_and_sends_nobody_twice(
    app: BotApp, clock: FakeClock
) -> None:
    recorder, _inbox = wire(app)
    seed(app, 30)
    team = await team_member(app, ["chi-lang"])
    stuck = asyncio.Event()

    async def hang_on_the_tenth(chat_id: str, call: int) -> None:
        if call >= 10:
            await stuck.wait()  # the process dies while these requests are in flight

    recorder.hook = hang_on_the_tenth
    app.services.outbox.drain_seconds = 0.05  # the hung sends never finish: a crash, in effect
    app.start_jobs()
    broadcast_id = await compose(team)
    await until(lambda: recorder.calls >= 10)
    before = {c for c, _r in recorder.delivered}
    data_dir = app.settings.data_dir
    await app.stop()
    again = make_app(data_dir, clock)
    try:
        second, _inbox2 = wire(again)
        again.start_jobs()
        await finished(again, broadcast_id)
        after = [c for c, _r in second.delivered]
        assert len(after) == len(set(after))
        assert not before & set(after), "someone got it twice"
        assert before | set(after) == {f"s{i}" for i in range(100, 130)}
        found = again.services.broadcasts.get(broadcast_id)
        assert found is not None and found.status == DONE
    finally:
        await again.stop()


def test_typed_times_become_the_next_such_moment_in_vietnam() -> None:
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 15:00 in Vietnam
    assert parse_when("18:00", now) == datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    assert parse_when("7h30", now) == datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    assert parse_when("20/12 07:30", now) == datetime(2026, 12, 20, 0, 30, tzinfo=UTC)
    assert parse_when("1/1/2027 8h", now) == datetime(2027, 1, 1, 1, 0, tzinfo=UTC)
    assert parse_when("25:00", now) is None
    assert parse_when("31/2 08:00", now) is None
    assert parse_when("mai", now) is None


async def test_naughty_strings_are_shown_as_typed_and_never_break_the_message(
    app: BotApp,
) -> None:
    naughty: list[str] = json.loads((Path(__file__).parent / "data" / "blns.json").read_text())
    wire(app)
    seed(app, 1)
    team = await team_member(app, ["chi-lang"])
    taken = 0
    # As the one cleaner keeps them: no controls, zero-width or direction characters.
    for text in [t for t in naughty if clean(t, multiline=True)][:120]:
        await team.say("/thongbao")
        await team.say(text)
        if "nophoto" not in [p for _l, p in team.buttons()]:
            continue  # a command-like or cancel word: not taken as the message
        await team.tap("nophoto")
        await team.tap("aud:go")
        shown = team.last[1].text
        body = shown.split("\n\n", 1)[1]
        assert html.unescape(body) == clean(text, multiline=True)
        assert "<" not in body and ">" not in body
        taken += 1
        await team.say("/huy")
    assert taken >= 100


async def test_notices_are_turned_off_and_on_by_command(app: BotApp) -> None:
    seed(app, 1)
    lan = Chat(app, "web:s100")
    await lan.say("/tatthongbao")
    assert lan.said(
        "Done: you will not receive notices from the digital-tech team any more. To get them again: /batthongbao"
    )
    user = app.services.users.by_key("web:s100")
    assert user is not None and not user.consent
    team = await team_member(app, ["chi-lang"])
    await team.say("/thongbao")
    await team.say("Họp thôn")
    await team.tap("nophoto")
    assert team.said(
        "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue.",
        count=0,
    )
    await lan.tap("bc:on")
    assert lan.said(
        "Done: you will receive notices from the digital-tech team again. To stop: /tatthongbao"
    )
    await team.tap("aud:role")
    await team.tap("aud:role")
    await team.tap("aud:role")
    await team.tap("aud:role")  # back to everyone
    assert team.said(
        "<b>Who gets it</b>: {areas}\nPeople who will receive it now: {count}.\nNarrow it down, or continue.",
        count=1,
    )


class Monotonic:
    """The pacer's clock, moved only by the test: nothing depends on how busy the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _turns(n: int = 20) -> None:
    """Let the pacer's waiting tasks run (each re-checks the clock it was given)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_the_pacer_counts_sends_in_flight_and_answered_ones() -> None:
    clock = Monotonic()
    pacer = Pacer(rate=3, clock=clock)
    slots = []
    for _ in range(3):
        slots.append(await pacer.acquire())
        clock.now += 0.2  # past the spacing between starts
    waiting = asyncio.create_task(pacer.acquire())
    await _turns()
    assert not waiting.done()  # three sends in flight fill a window of three
    pacer.release(slots[0], counted=False)  # it never went out: its slot is free at once
    fourth = await asyncio.wait_for(waiting, 5)
    pacer.release(slots[1], counted=True)  # answered: it stays in the window for a second
    waiting = asyncio.create_task(pacer.acquire())
    await _turns()
    assert not waiting.done()  # the clock has not moved: the window is still full
    waiting.cancel()
    pacer.release(fourth, counted=False)
    pacer.release(fourth, counted=False)  # a second release changes nothing
    assert pacer._held == 1


async def test_replies_take_the_next_free_slot_before_broadcasts() -> None:
    clock = Monotonic()
    pacer = Pacer(rate=3, clock=clock)
    slots = []
    for _ in range(3):
        slots.append(await pacer.acquire())
        clock.now += 0.2  # past the spacing between starts
    for slot in slots:
        pacer.release(slot, counted=True)  # a full window, freeing one slot at a time
        clock.now += 0.3
    broadcast = asyncio.create_task(pacer.acquire())
    await _turns()
    reply = asyncio.create_task(pacer.acquire_reply())
    await _turns()
    assert not broadcast.done() and not reply.done()
    clock.now += 0.2  # the oldest answer turns a second old: one slot frees
    done, _ = await asyncio.wait({broadcast, reply}, timeout=5, return_when="FIRST_COMPLETED")
    assert done == {reply}  # queued later, served first
    await _turns()
    assert not broadcast.done()
    pacer.release(reply.result(), counted=True)
    broadcast.cancel()
