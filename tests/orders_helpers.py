"""Shared pieces of the order tests: a notification inbox, listings, a buyer's order form."""

from __future__ import annotations

import re
from collections import defaultdict

from bot.app import BotApp
from bot.core.fmt import to_plain
from bot.core.types import Reply
from bot.services.listings import Certs, Listing
from tests.helpers.driver import Chat

_ALLOWED_TAG = re.compile(r"</?(b|i|code)>|<a href=\"[^\"<>]*\">|</a>")

# The buyer's order form and shared listings, by msgid (tests.helpers.msgids).
QUANTITY_QUESTION = (
    "How much <b>{product}</b> would you like? Price {price}; available {available}.\n"
    "Type an amount, e.g. <i>10 {unit}</i>."
)
ORDER_PLACED = (
    "✅ Your order <b>{code}</b> is placed. The seller will confirm it soon; you will get a"
    " message at each step. See it any time under “My orders”, or follow it here without"
    " signing in: {url}"
)
CODE_GONE = (
    "Sorry, the product with code {code} is no longer on sale: the seller removed it or sold it"
    " all."
)
WHAT_TO_BUY = (
    "What would you like to buy? Type a product name, with or without accents (e.g. <i>na chi "
    "lang</i>, <i>hong</i>, <i>thach den</i>), or browse:"
)


class Inbox:
    """Catches notifications sent to web users (the engine tests run no real channel)."""

    def __init__(self, app: BotApp) -> None:
        self.sent: defaultdict[str, list[Reply]] = defaultdict(list)
        app.services.notifier.register("web", self._send)

    async def _send(self, platform_id: str, replies: list[Reply]) -> None:
        self.sent[f"web:{platform_id}"].extend(replies)

    def take(self, user_key: str) -> str:
        """Everything sent to a user since the last take, as plain text."""
        replies, self.sent[user_key] = self.sent[user_key], []
        return "\n".join(to_plain(r.text) for r in replies)

    def take_replies(self, user_key: str) -> list[Reply]:
        """The replies sent to a user since the last take."""
        replies, self.sent[user_key] = self.sent[user_key], []
        return replies


def well_formed(text: str) -> bool:
    """Whether reply HTML has only the tags the bot writes (user text escaped)."""
    return "<" not in _ALLOWED_TAG.sub("", text)


def user_id(app: BotApp, chat: Chat) -> int:
    """The stored id of a chat's user."""
    user = app.services.users.by_key(chat.user_key)
    assert user is not None
    return user.id


def add_listing(
    app: BotApp, farmer: Chat, *, stock: str = "100", price: int = 45000, **extra: object
) -> Listing:
    """A farmer's active listing of Na Chi Lăng, stored directly."""
    owner = app.services.users.by_key(farmer.user_key)
    assert owner is not None
    fields: dict[str, object] = {
        "farmer_id": owner.id,
        "area": owner.area,
        "product_id": "na-chi-lang",
        "product_name": "Na Chi Lăng",
        "unit": "kg",
        "quantity": stock,
        "stock": stock,
        "price": price,
        "photos": ["tg:NA_PHOTO"],
        "certs": Certs(ocop=4, vietgap=True),
        **extra,
    }
    return app.services.listings.add(Listing(**fields))  # type: ignore[arg-type]


async def order_form(buyer: Chat, listing: Listing, qty: str = "10 kg") -> None:
    """Fill the order form up to the summary (the buyer starts at the main menu)."""
    await buyer.tap("buy")
    await buyer.say("na chi lang")
    await buyer.tap(f"o:{listing.id}")
    await buyer.say(qty)
    await buyer.tap("nm:keep")
    await buyer.tap("ph:keep")
    await buyer.say("12 Trần Đăng Ninh, Lạng Sơn")
    await buyer.tap("nt:skip")
    assert "Please check your order" in buyer.text() or "kiểm tra" in buyer.text(), buyer.text()
