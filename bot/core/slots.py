"""The details in a one-sentence request: product, quantity, unit, price, order code.

"bán 2 tạ na giá 40k", "tôi muốn bán 200 kg hồng vành khuyên 35 nghìn 1 kg", "mua 10 kg na
chi lăng", "đơn DH0212-0001 đã gửi hàng". Everything here reuses bot/text.py's parsers, so a
detail is read the same way as when the form asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bot.text import _fold_keep, fold, parse_price, parse_quantity, parse_unit

SELL, BUY, ORDER, CORRECT, FILL, SHARE = "sell", "buy", "order", "correct", "fill", "share"
_SELL_VERBS = ("dang ban", "can ban", "muon ban", "ban gap", "ban")
_BUY_VERBS = ("tim mua", "can mua", "muon mua", "dat mua", "mua")
# "bạn ơi", "bạn bè": the folded "ban" that is a person, not a sale.
_NOT_SELL_AFTER = frozenset({"oi", "be", "la", "co", "toi", "minh", "nhe", "a", "cua", "nao"})
_ORDER_CODE = re.compile(r"\bdh\s*([0-9]{4})\s*-?\s*([0-9]{4})\b")
_ORDER_ACTIONS = (
    ("cancel", ("huy", "tu choi", "khong ban")),
    ("deliver", ("giao roi", "da giao", "nhan roi", "giao xong", "khach nhan", "da nhan")),
    ("ship", ("gui hang", "da gui", "gui roi", "gui di", "ship", "dang giao", "giao cho ship")),
    ("confirm", ("xac nhan", "nhan don", "dong y")),
)
_NUMBER = r"[0-9]+(?:[.,][0-9]+)*"
# A price is an amount with a money word ("40k", "35 nghìn", "1tr2", "50.000đ"), or a number
# after "giá"; it may be followed by its unit ("/kg", "1 kg", "một tạ").
_MONEY = r"(?:k|nghin|ngan|tr|trieu|d|dong|vnd)"
_PER = r"(?:\s*(?:/|mot|1|moi|per)\s*(?P<{}>[a-z]+))?"
_PRICE = re.compile(
    rf"(?:\bgia\s+(?:la\s+|khoang\s+)?)?(?P<amount>{_NUMBER}\s*{_MONEY}(?:[0-9]{{1,3}})?)"
    rf"{_PER.format('unit')}\b"
    rf"|\bgia\s+(?:la\s+|khoang\s+)?(?P<bare>{_NUMBER}){_PER.format('bare_unit')}\b"
)
_QUANTITY = re.compile(rf"(?<![/0-9])(?P<num>{_NUMBER})\s*(?P<unit>[a-z]+(?:\s+lo)?)\b")


@dataclass
class Request:
    """What a one-sentence request asks for, with the details it gave."""

    intent: str  # sell | buy | order | correct (an earlier answer) | fill (several answers)
    product_id: str = ""
    product_name: str = ""
    quantity: Decimal | None = None
    unit: str = ""
    price: int | None = None
    price_unit: str = ""  # the unit the price was typed for, "" when none was typed
    code: str = ""
    action: str = ""
    slots: dict[str, str] = field(default_factory=dict)

    def as_slots(self) -> dict[str, str]:
        """The details as flat strings (for logs and the labelled set)."""
        out = {"intent": self.intent}
        if self.product_id:
            out["product"] = self.product_id
        if self.quantity is not None:
            out["qty"], out["unit"] = _plain(self.quantity), self.unit
        if self.price is not None:
            out["price"] = str(self.price)
            if self.price_unit:
                out["price_unit"] = self.price_unit
        if self.code:
            out["code"] = self.code
        if self.action:
            out["action"] = self.action
        return out


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


ProductFinder = Callable[[str], tuple[str, str] | None]


# Said of "the" order without its code: "đã gửi hàng rồi", "khách nhận rồi".
_ORDER_SAID = {
    "ship": ("da gui hang", "gui hang roi", "da gui roi", "da gui", "gui roi", "da ship"),
    "deliver": ("khach nhan roi", "da giao roi", "giao roi", "da giao", "khach da nhan"),
    "confirm": ("xac nhan don", "nhan don"),
}
_PARTICLES = frozenset({"a", "nhe", "nha", "roi", "em", "oi", "ad", "do", "day"})
PLATFORMS = ("zalo", "facebook", "tiktok")


def order_request(text: str) -> Request | None:
    """An order code with what to do with it ("huỷ đơn DH0212-0001"), or "đã gửi hàng"."""
    folded = fold(text)
    m = _ORDER_CODE.search(folded)
    if m is None:
        words = folded.split()
        while len(words) > 1 and words[-1] in _PARTICLES and " ".join(words) not in _SAID:
            words.pop()
        said = " ".join(words)
        action = next((a for a, phrases in _ORDER_SAID.items() if said in phrases), "")
        return Request(ORDER, action=action) if action else None
    rest = f" {folded[: m.start()]} {folded[m.end() :]} "
    action = next(
        (name for name, words in _ORDER_ACTIONS if any(f" {w} " in rest for w in words)), "view"
    )
    return Request(ORDER, code=f"DH{m[1]}-{m[2]}", action=action)


_SAID = frozenset(p for phrases in _ORDER_SAID.values() for p in phrases)


def share_request(text: str) -> Request | None:
    """ "Chia sẻ", "zalo", "đăng facebook" said at the menu: share the latest listing."""
    words = [w for w in fold(text).split() if w not in _PARTICLES and w not in ("dang", "len")]
    said = " ".join(words)
    if said in ("chia se", "share", "chia se tin", "chia se tin dang"):
        return Request(SHARE)
    if said in PLATFORMS:
        return Request(SHARE, action=said)
    return None


def _verb(words: list[str], verbs: tuple[str, ...], *, sell: bool) -> int:
    """Index just after the first verb phrase in `words`, or -1."""
    for i in range(len(words)):
        for verb in verbs:
            parts = verb.split()
            if words[i : i + len(parts)] != parts:
                continue
            after = words[i + len(parts)] if i + len(parts) < len(words) else ""
            if sell and verb == "ban" and after in _NOT_SELL_AFTER:
                continue
            return i + len(parts)
    return -1


def trade_request(text: str, find_product: ProductFinder) -> Request | None:
    """A sale or purchase in one sentence, with whatever details it carries."""
    keep = _fold_keep(text)
    words = fold(text).split()
    intent = ""
    if _verb(words, _SELL_VERBS, sell=True) >= 0:
        intent = SELL
    elif _verb(words, _BUY_VERBS, sell=False) >= 0:
        intent = BUY
    if not intent:
        return None
    request = Request(intent)
    rest = _take_price(keep, request)
    rest = _take_quantity(rest, request)
    verbs = {w for v in (*_SELL_VERBS, *_BUY_VERBS) for w in v.split()}
    leftover = [w for w in fold(rest).split() if w not in verbs and not w.isdigit()]
    found = _product(leftover, find_product)
    if found is not None:
        request.product_id, request.product_name = found
    if (
        not request.product_id
        and request.quantity is None
        and (request.price is None or intent != SELL)
    ):
        return None  # "bán hàng", "mua gì": a menu word, not a request
    return request


def form_details(text: str, find_product: ProductFinder) -> Request | None:
    """Several answers of the listing form typed at once ("200 kg giá 45k"), or None."""
    request = Request(FILL)
    rest = _take_quantity(_take_price(_fold_keep(text), request), request)
    leftover = [w for w in fold(rest).split() if w not in ("gia", "la", "co") and not w.isdigit()]
    found = _product(leftover, find_product)
    if found is not None:
        request.product_id, request.product_name = found
    given = [bool(request.product_id), request.quantity is not None, request.price is not None]
    return request if sum(given) >= 2 else None


def _take_price(keep: str, request: Request) -> str:
    """Read the price out of the text; return the text without it."""
    for m in _PRICE.finditer(keep):
        raw = m["amount"] or m["bare"]
        typed_unit = m["unit"] or m["bare_unit"]
        unit = parse_unit(typed_unit) if typed_unit else None
        price = parse_price(raw if m["amount"] else f"{raw}k" if _short(raw) else raw)
        if price is None:
            continue
        request.price = price.amount
        request.price_unit = unit or price.unit or ""
        return keep[: m.start()] + " " + keep[m.end() :]
    return keep


def _short(raw: str) -> bool:
    """ "giá 40" means 40 nghìn: nobody prices farm produce at 40 đồng."""
    return raw.isdigit() and int(raw) < 1000


def _take_quantity(keep: str, request: Request) -> str:
    """Read an amount with its unit out of the text; return the text without it."""
    for m in _QUANTITY.finditer(keep):
        unit = parse_unit(m["unit"])
        if unit is None:
            continue
        quantity = parse_quantity(f"{m['num']} {m['unit']}")
        if quantity is None:
            continue
        request.quantity, request.unit = quantity.amount, quantity.unit
        return keep[: m.start()] + " " + keep[m.end() :]
    return keep


def _product(words: list[str], find_product: ProductFinder) -> tuple[str, str] | None:
    """The longest run of words that names a product."""
    for size in range(min(5, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            found = find_product(" ".join(words[i : i + size]))
            if found is not None:
                return found
    return None
