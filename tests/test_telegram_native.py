"""Telegram taps that only change the screen edit the message they were pressed on."""

from __future__ import annotations

from tests.helpers.telegram import TelegramBot, payloads, texts

LAN = 8101
MAI = 8102
CUSTOM = 'Na Chi Lăng <loại 1> & "ngon"'


def _toasts(tg: TelegramBot) -> list[str]:
    return [p.get("text", "") for m, p in tg.fake.calls if m == "answerCallbackQuery"]


async def test_crop_toggles_edit_in_place_with_a_toast_even_after_a_restart(
    tg: TelegramBot,
) -> None:
    await tg.text(LAN, "/start", first_name="Lan")
    await tg.tap(LAN, "name:keep")
    await tg.contact(LAN, "+84912345678")
    await tg.text(LAN, "chi lang")
    [crops] = await tg.tap(LAN, "farmer")
    sent = tg.fake.sends(LAN)
    assert await tg.tap(LAN, "crop:na-chi-lang") == []  # no new message
    await tg.settle()
    assert tg.fake.sends(LAN) == sent
    assert tg.fake.edits(LAN) == [("editMessageText", crops["message_id"])]
    [shown] = [m for m in tg.fake.messages_to(LAN) if m["message_id"] == crops["message_id"]]
    assert "Na Chi Lăng" in shown["text"] and "✅ Na Chi Lăng" in str(shown["reply_markup"])
    assert _toasts(tg)[-1] == "Đã chọn: Na Chi Lăng"
    await tg.restart()  # nothing about the message is kept in memory: it comes with the tap
    other = next(p for p in payloads([shown]) if p.startswith("crop:") and "na-chi" not in p)
    tg.fake.send_callback(LAN, other, message_id=crops["message_id"])
    await tg.settle()
    tg.fake.send_callback(LAN, "crop:na-chi-lang", message_id=crops["message_id"])
    await tg.settle()
    assert tg.fake.sends(LAN) == sent and len(tg.fake.edits(LAN)) == 3
    assert _toasts(tg)[-1] == "Đã bỏ: Na Chi Lăng"
    assert tg.fake.unanswered_callbacks() == []
    done = await tg.tap(LAN, "crop:done")
    assert "nhận" in texts(done)  # the consent question: a new screen, a new message
    # A stale toggle on the old screen still gets an answer (as before), not silence.
    tg.fake.send_callback(LAN, "crop:na-chi-lang", message_id=crops["message_id"], check=False)
    await tg.settle()
    assert "tin nhắn cũ" in texts(tg.new_messages(LAN))


async def test_page_arrows_edit_the_list_in_place(tg: TelegramBot) -> None:
    await tg.onboard(MAI, role="buyer", name="Mai")
    [lessons] = (await tg.text(MAI, "/hoc"))[-1:]
    assert "page:next" in payloads([lessons])
    sent = tg.fake.sends(MAI)
    await tg.tap(MAI, "page:next")
    await tg.settle()
    assert tg.fake.sends(MAI) == sent
    assert tg.fake.edits(MAI) == [("editMessageText", lessons["message_id"])]
    [page2] = [m for m in tg.fake.messages_to(MAI) if m["message_id"] == lessons["message_id"]]
    assert "page:prev" in payloads([page2]) and "page:next" not in payloads([page2])
    tg.fake.send_callback(MAI, "page:prev", message_id=lessons["message_id"])
    await tg.settle()
    assert tg.fake.sends(MAI) == sent and len(tg.fake.edits(MAI)) == 2


async def test_button_labels_are_plain_text(tg: TelegramBot) -> None:
    await tg.onboard(LAN)
    await tg.tap(LAN, "listings")
    picked = await tg.text(LAN, CUSTOM)
    labels = [label for m in picked for label, _p in tg.fake.buttons(m)]
    assert any(CUSTOM in label for label in labels), labels  # shown exactly as typed
    # The fake records any label with an HTML entity as a violation (checked at teardown).
    assert tg.fake.violations == []
