"""A small shop whose farmer deletes her data: the backup and restore tests' people."""

from __future__ import annotations

from bot.app import BotApp
from tests.helpers.disk import forms, phone_forms
from tests.helpers.driver import Chat
from tests.orders_helpers import add_listing

MAN, MAN_PHONE = "Hoàng Thị Mận", "0938517246"


def man_needles() -> dict[str, list[bytes]]:
    """How Mận's name and phone could appear in a file."""
    return {"name": forms(MAN), "phone": [f.encode() for f in phone_forms(MAN_PHONE)[1:4]]}


async def shop(app: BotApp) -> tuple[Chat, Chat, Chat]:
    """Mận sells, Hoa sells, Khoa has ordered from Mận."""
    man = Chat(app, "web:man", MAN)
    await man.onboard(role="farmer", phone=MAN_PHONE)
    hoa = Chat(app, "web:hoa", "Lò Thị Hoa")
    await hoa.onboard(role="farmer", phone="0911000111")
    khoa = Chat(app, "web:khoa", "Đặng Văn Khoa")
    await khoa.onboard(role="buyer", phone="0976111222")
    listing = add_listing(app, man)
    await khoa.tap("buy")
    await khoa.say("na chi lang")
    await khoa.tap(f"o:{listing.id}")
    for step in ("10 kg",):
        await khoa.say(step)
    await khoa.tap("nm:keep")
    await khoa.tap("ph:keep")
    await khoa.say("17 Ngõ Bưởi Diễn, Kỳ Lừa")
    await khoa.tap("nt:skip")
    await khoa.tap("cf:yes")
    return man, hoa, khoa


async def delete_data(chat: Chat) -> None:
    """The person deletes their data (/xoadulieu, confirmed)."""
    await chat.say("/xoadulieu")
    await chat.tap("del:yes")
