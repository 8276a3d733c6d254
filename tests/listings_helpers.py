"""Shared steps for the listing tests: a farmer, a filled form, stored listings."""

from __future__ import annotations

from bot.app import BotApp
from bot.services.listings import ACTIVE, Certs, Listing
from tests.helpers.driver import Chat

FARMER_KEY = "web:farmer1"


async def farmer(app: BotApp, key: str = FARMER_KEY, name: str = "Lan") -> Chat:
    """A registered farmer at the main menu."""
    chat = Chat(app, key, name)
    await chat.onboard(role="farmer")
    return chat


async def fill_to_summary(chat: Chat, *, photos: int = 3, price: str = "45k") -> None:
    """Fill the listing form for Na Chi Lăng up to the summary card."""
    await chat.tap("listings")
    await chat.say("na chi lang")
    await chat.say("loại 1")
    await chat.say("200")
    await chat.say(price)
    await chat.tap("lf:now")
    for i in range(photos):
        await chat.photo(f"tg:PHOTO{i + 1}")
    await chat.tap("lf:done" if photos else "lf:skip")
    await chat.tap("lf:c:ocop4")
    await chat.tap("lf:c:done")
    await chat.say("OCOP-LS-2024-017")
    await chat.say("Na dai, ngọt đậm, quả to đều.")
    assert "lf:ok" in [p for _label, p in chat.buttons()], chat.text()


def stored(app: BotApp, farmer_id: int, n: int = 1, **fields: object) -> list[Listing]:
    """Put `n` listings straight into the store."""
    made = []
    for i in range(n):
        listing = Listing(
            farmer_id=farmer_id,
            area="chi-lang",
            product_id="na-chi-lang",
            product_name=f"Na Chi Lăng {i + 1}",
            quantity="100",
            stock="100",
            price=45000,
            certs=Certs(ocop=4),
            status=ACTIVE,
            form_id=f"seed-{farmer_id}-{i}",
            updated_at="2026-08-01T08:00:00+07:00",
        )
        for key, value in fields.items():
            setattr(listing, key, value)
        made.append(app.services.listings.add(listing))
    return made


def user_id(app: BotApp, key: str) -> int:
    """The stored id of the user behind a key."""
    user = app.services.users.by_key(key)
    assert user is not None
    return user.id
