"""Telegram taps that only change the screen edit the message they were pressed on."""

from __future__ import annotations

from bot.services.listings import Listing
from tests.fakes.spec import UploadedFile
from tests.fakes.user_side import TINY_PNG
from tests.helpers.msgids import said
from tests.helpers.telegram import TelegramBot, payloads, texts

UNKNOWN_COMMAND = "I do not know that command. Type /help to see what I can do."
ASK_CONSENT = (
    "The commune's digital-tech team sometimes sends useful guidance (selling tips, scam warnings,"
    " training days). Would you like to receive it? You can change this any time."
)
STALE_BUTTON = "That button is from an earlier message. Please answer this question:"

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
    await tg.tap(LAN, "addr:chi")
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
    assert said(texts(done), ASK_CONSENT)  # the consent question: a new screen, a new message
    # A stale toggle on the old screen still gets an answer (as before), not silence.
    tg.fake.send_callback(LAN, "crop:na-chi-lang", message_id=crops["message_id"], check=False)
    await tg.settle()
    assert said(texts(tg.new_messages(LAN)), STALE_BUTTON)


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


async def test_command_menu_lists_the_main_entries_in_vietnamese(tg: TelegramBot) -> None:
    commands = tg.fake.world.commands[('{"type": "default"}', "")]
    names = [c["command"] for c in commands]
    assert names[:1] == ["menu"] and {"dangban", "donhang", "hoidap", "hoso", "hoc"} <= set(names)
    assert all(n.isascii() for n in names)
    described = {c["command"]: c["description"] for c in commands}
    assert described["dangban"] == "Đăng bán nông sản" and described["hoc"] == "Học kỹ năng số"
    english = tg.fake.world.commands[('{"type": "default"}', "en")]
    assert {c["command"]: c["description"] for c in english}["hoc"] == "Learn digital skills"
    await tg.onboard(LAN)
    for name in names:  # every command in the menu leads somewhere
        answer = texts(await tg.text(LAN, f"/{name}"))
        assert not said(answer, UNKNOWN_COMMAND), (name, answer)
        await tg.text(LAN, "/huy")


async def test_our_photos_go_to_telegram_once_then_by_file_id(tg: TelegramBot) -> None:
    await tg.onboard(LAN)
    assert tg.app is not None
    lan = tg.app.services.users.by_key(f"telegram:{LAN}")
    assert lan is not None
    media = tg.app.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    (media / "web-upload.png").write_bytes(TINY_PNG)  # a photo sent from the web chat
    listing, zalo = (
        tg.app.services.listings.add(
            Listing(
                farmer_id=lan.id,
                area=lan.area,
                product_id="na-chi-lang",
                product_name="Na Chi Lăng",
                stock="10",
                quantity="10",
                price=45000,
                photos=[photo],
            )
        )
        for photo in ("media:web-upload.png", "https://zalo.example/na.jpg")
    )

    def uploads() -> int:
        return sum(
            1
            for method, params in tg.fake.calls
            if (method in ("sendPhoto", "sendMediaGroup") and "attach://" in str(params))
            or (method == "sendPhoto" and isinstance(params.get("photo"), UploadedFile))
        )

    def by_url() -> int:
        return sum(1 for _m, p in tg.fake.calls if "zalo.example" in str(p))

    async def show_all() -> None:
        for item in (listing, zalo):
            await tg.text(LAN, "/tindang")
            await tg.tap(LAN, f"lst:v:{item.id}")
            await tg.tap(LAN, f"lst:qr:{item.id}")

    await show_all()
    first = (uploads(), by_url())
    assert first == (3, 1)  # the web photo and two QR codes uploaded; the Zalo photo by URL
    await show_all()
    await tg.restart()  # the file_ids are in the store, not in memory
    await show_all()
    assert (uploads(), by_url()) == first  # none of our photos uploaded or fetched again
