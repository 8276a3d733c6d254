"""Web chat notices waiting for their sessions: what a person's data deletion takes with it."""

from __future__ import annotations

from pathlib import Path

from bot.core.clock import FakeClock
from bot.storage.db import Store
from bot.web.chat_pending import Pending


def _reply(text: str) -> list[dict[str, object]]:
    return [{"text": text, "buttons": [[{"label": "Xác nhận", "data": "cf:yes"}]]}]


async def test_deleting_a_person_drops_the_notices_that_name_them_and_no_others(
    tmp_path: Path,
) -> None:
    with Store(tmp_path) as store:
        pending = Pending(store, FakeClock())
        await pending.put("s-an", _reply("Chào An, đơn của bạn đã gửi."))
        await pending.put("s-farmer", _reply("Đơn mới DH-1\nNgười mua: An\nSĐT: 0912 345 678"))
        await pending.put("s-farmer", _reply("Đơn mới DH-2 &lt;b&gt;\n12 Trần Đăng Ninh"))
        await pending.put("s-lan", _reply("Đơn mới DH-3\nNgười mua: Lan, Chi Lăng"))
        await pending.put("s-hoa", _reply("Đơn mới DH-4\nNgười mua: Hoàng Thị An"))
        await pending.put("s-minh", _reply("Quantity: 10 kg, Ancestral seeds"))

        pending.forget(["s-an"], ["An", "0912345678", "0912 345 678", "12 Trần Đăng Ninh"])

        assert await pending.take("s-an") == []  # their own session's notices
        assert await pending.take("s-farmer") == []  # named, phone shown, address
        assert await pending.take("s-lan") == _reply("Đơn mới DH-3\nNgười mua: Lan, Chi Lăng")
        assert await pending.take("s-minh") == _reply("Quantity: 10 kg, Ancestral seeds")
        # Another person with the same given name: a whole-word match errs towards deleting.
        assert await pending.take("s-hoa") == []


async def test_values_are_matched_as_text_not_as_patterns(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        pending = Pending(store, FakeClock())
        await pending.put("s-1", _reply("Ghi chú: giao (sáng) trước 9h"))
        await pending.put("s-2", _reply("Ghi chú: giao sáng trước 9h"))
        pending.forget([], ["giao (sáng)", "x", ""])
        assert await pending.take("s-1") == []
        assert await pending.take("s-2") == _reply("Ghi chú: giao sáng trước 9h")
