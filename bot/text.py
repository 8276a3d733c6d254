"""Vietnamese text handling: folding for matching, chat abbreviations, numbers, prices,
quantities and units, phone numbers, and cutting text to a channel's limits."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# --- folding -------------------------------------------------------------------------------

# Combining marks that NFD input (macOS, some Android keyboards) carries separately.
_COMBINING_RANGES = ((0x0300, 0x0370), (0x1AB0, 0x1B00), (0x1DC0, 0x1E00), (0x20D0, 0x2100))
# Invisible characters that would otherwise split a word in two.
_INVISIBLE = (0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFE0E, 0xFE0F, 0xFEFF)


def _build_strip_table() -> dict[int, str | None]:
    """Map every accented Latin letter to its bare letter, keeping case; delete marks."""
    table: dict[int, str | None] = {}
    for cp in itertools.chain(range(0x00C0, 0x0250), range(0x1E00, 0x1F00)):
        base = unicodedata.normalize("NFD", chr(cp))[0]
        if base != chr(cp) and base.isascii() and base.isalpha():
            table[cp] = base
    for start, end in _COMBINING_RANGES:
        table.update(dict.fromkeys(range(start, end)))
    table.update(dict.fromkeys(_INVISIBLE))
    # đ/Đ have no decomposition; Ð/ð (eth) are look-alikes some keyboards produce.
    table.update({0x0111: "d", 0x0110: "D", 0x00F0: "d", 0x00D0: "D", 0x20AB: "d"})
    # Full-width ASCII from some phone keyboards.
    table.update({cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)})
    table.update({0x00A0: " ", 0x202F: " ", 0x2007: " ", 0x3000: " "})
    return table


def _build_fold_table(strip: dict[int, str | None]) -> dict[int, str | None]:
    """Extend the strip table: ASCII punctuation becomes a space, every common letter is listed."""
    table = dict(strip)
    table.update({cp: " " for cp in range(0x80) if not chr(cp).isalnum()})
    # Identity entries matter: translate() pays for a KeyError on every unlisted character.
    for cp in itertools.chain(range(0x2100), range(0x1E00, 0x1F00)):
        table.setdefault(cp, chr(cp))
    return table


_STRIP = _build_strip_table()
_FOLD = _build_fold_table(_STRIP)
_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
# What nobody means to keep in a typed value: control characters, soft hyphens, zero-width
# marks and the bidi overrides and isolates (U+202E turns "Na Chi Lăng" around on a page).
_UNSEEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_LINE_BREAK = re.compile("\r\n?|[\x85\u2028\u2029]")


def clean(text: str, multiline: bool = False) -> str:
    """A typed value as kept: composed (NFC), no invisible characters, spaces tidied.

    Line breaks stay only when `multiline` (a description, a notice), with at most one empty
    line in a row; otherwise the value is one line.
    """
    text = _UNSEEN.sub("", unicodedata.normalize("NFC", _LINE_BREAK.sub("\n", text)))
    if not multiline:
        return " ".join(text.split())
    lines: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()


def fold(text: str) -> str:
    """Fold for matching: no diacritics, đ→d, lowercase, punctuation→space, single spaces."""
    # lower() first so marks it may produce (e.g. from "İ") are deleted by the table too.
    folded = text.lower().translate(_FOLD)
    if folded.isascii():  # the usual case; split/join is several times faster than the regex
        return " ".join(folded.split())
    return _NON_WORD.sub(" ", folded).strip()


def _fold_keep(text: str) -> str:
    """Fold like fold() but keep punctuation (for parsing "45.000đ/kg")."""
    return _SPACES.sub(" ", text.lower().translate(_STRIP)).strip()


_ABBREVIATIONS: dict[str, str] = {
    **dict.fromkeys(("ko", "k", "khg", "hok", "hk", "hem", "khum"), "khong"),
    "dc": "duoc",
    "sdt": "so dien thoai",
    "stk": "so tai khoan",
    "bn": "bao nhieu",
    "bnh": "bao nhieu",
    "j": "gi",
    "ntn": "nhu the nao",
    "vs": "voi",
    "ck": "chuyen khoan",
    "tk": "tai khoan",
    "sp": "san pham",
    "dt": "dien thoai",
    "mk": "mat khau",
    "tmdt": "thuong mai dien tu",
    "ship": "giao hang",
    "shipper": "nguoi giao hang",
    "dh": "don hang",
    "dky": "dang ky",
    "dki": "dang ky",
    "r": "roi",
    "ms": "moi",
    "mn": "moi nguoi",
    "mng": "moi nguoi",
    "cx": "cung",
    "ng": "nguoi",
    "trc": "truoc",
    "bh": "bao gio",
    "bg": "bao gio",
    "bjo": "bao gio",
    "lm": "lam",
    "bik": "biet",
    "bit": "biet",
    "wa": "qua",
    "fb": "facebook",
    "zl": "zalo",
    "ad": "admin",
    "ib": "nhan tin",
    "kh": "khong",
    "hg": "khong",
    "ji": "gi",
    "bnhiu": "bao nhieu",
    "bnhieu": "bao nhieu",
    "bt": "biet",
    "bk": "biet",
    "ae": "anh em",
    "nc": "nuoc",
    "sip": "giao hang",
    "sjp": "giao hang",
    "onl": "online",
    "oke": "ok",
    "okie": "ok",
    "okay": "ok",
    "uk": "u",
    "uhm": "u",
    "dtdd": "dien thoai",
}
# Typed right after a number these are amounts ("45 k" = 45 nghìn), not abbreviations.
_NUMERIC_SUFFIXES = frozenset({"k"})


def expand_abbreviations(folded: str) -> str:
    """Expand common chat abbreviations, whole tokens only, in already-folded text."""
    tokens = folded.split()
    out: list[str] = []
    for i, token in enumerate(tokens):
        full = _ABBREVIATIONS.get(token)
        if full is None or (token in _NUMERIC_SUFFIXES and i and tokens[i - 1][-1:].isdigit()):
            out.append(token)
        else:
            out.append(full)
    return " ".join(out)


# --- the farmers' lexicon ------------------------------------------------------------------
# What a step's words mean wherever they are typed; folded and abbreviations expanded
# (see `lexical`). A step's own choices are matched first: these only fill the gaps.


def lexical(text: str) -> str:
    """Text as the lexicon sees it: folded, abbreviations expanded."""
    return expand_abbreviations(fold(text))


# Politeness and particles around an answer that change nothing: "bỏ qua nhé", "thôi ạ".
_AROUND = frozenset({"a", "nhe", "nha", "di", "thoi", "em", "oi", "nhi", "ha", "luon", "roi"})
SKIP_WORDS = frozenset(
    {
        "bo qua",
        "bo",
        "skip",
        "next",
        "khong",
        "khong co",
        "khong can",
        "khoi",
        "khoi can",
        "de sau",
        "sau",
        "chua co",
        "chua",
        "tiep",
        "qua",
        "khong co gi",
        "khong ghi",
        "khong nhap",
        "bo trong",
        "de trong",
    }
)
# "Không có mã", "chưa có ảnh": a refusal naming what is missing is a skip too.
_MISSING = re.compile(
    r"^(?:khong|chua)(?: co| can| nho| biet| ro)?"
    r" (?:anh|hinh|hinh anh|ma|so|ma so|so dien thoai|dien thoai|chung nhan|giay|mo ta"
    r"|ma van don|van don|so giay|gi|loai|ten)(?: nao| ca| het| dau| gi)?$"
    r"|(?:^| )(?:khong|chua) co (?:ma|ma van don|van don|so|anh|hinh)$"
)
# Not knowing, not remembering: no value to store.
_UNKNOWN = re.compile(
    r"^(?:(?:toi|em|minh|chi|anh) )?(?:khong|chua|cung khong)"
    r" (?:biet|nho|ro|nho ro|chac|nho so|nho ma)(?: nua| lam| ro| so| ma)?$"
    r"|^quen(?: mat)?(?: so| ma)?(?: roi)?$"
)
YES_WORDS = frozenset({"co", "u", "ok", "dong y", "duoc", "vang", "da", "dung", "dung roi"})
YES_WORDS |= {"yes", "chuan", "xac nhan", "chac chan", "co chu", "dung vay"}
NO_WORDS = frozenset({"khong", "khong phai", "sai", "no", "khong dung", "chua dung"})
DONE_WORDS = frozenset({"xong", "xong roi", "done", "het", "het roi", "du roi", "du", "the thoi"})
BACK_WORDS = frozenset({"quay lai", "tro ve", "tro lai", "back", "lui", "lui lai"})
SHARE_WORDS = frozenset({"chia se", "share", "gui ban be", "dang facebook", "zalo", "facebook"})


def _bare(text: str) -> str:
    """The lexical form without the particles around it ("thôi bỏ qua nhé" → "bo qua")."""
    words = lexical(text).split()
    while words and words[-1] in _AROUND:
        words.pop()
    while len(words) > 1 and words[0] in _AROUND:
        words.pop(0)
    return " ".join(words)


def meaning(text: str) -> str:
    """What a short answer means anywhere: skip, unknown, yes, no, done, back, share, or ""."""
    bare = _bare(text)
    if not bare and text.strip() == "-":
        return "skip"
    if bare in SKIP_WORDS or _MISSING.search(bare):
        return "skip"
    if _UNKNOWN.match(bare):
        return "unknown"
    for name, words in (
        ("yes", YES_WORDS),
        ("no", NO_WORDS),
        ("done", DONE_WORDS),
        ("back", BACK_WORDS),
        ("share", SHARE_WORDS),
    ):
        if bare in words:
            return name
    return ""


# --- numbers -------------------------------------------------------------------------------

_NUMBER_TOKEN = r"[0-9]+(?:[.,][0-9]+)*"
_NUMBER = re.compile(_NUMBER_TOKEN)
# "1 234 567": a space before exactly three digits is a thousands separator.
_SPACE_GROUP = re.compile(r"(?<=[0-9])[ \u00a0\u202f](?=[0-9]{3}(?![0-9]))")
_MAX_INPUT = 200  # nothing we parse is longer; also bounds the work on pasted junk


def _valid_groups(digits: str, sep: str) -> bool:
    """Tell whether "1.234.567" is well-formed thousands grouping with `sep`."""
    first, *rest = digits.split(sep)
    return 1 <= len(first) <= 3 and first[0] != "0" and all(len(g) == 3 for g in rest)


def _decimal_from_token(token: str) -> Decimal | None:
    """Read one number token ("45.000", "45,5", "1.234,5") the Vietnamese way."""
    dots, commas = token.count("."), token.count(",")
    if not dots and not commas:
        return Decimal(token)
    if dots and commas:
        last = max(token.rfind("."), token.rfind(","))
        point = token[last]
        grouping = "," if point == "." else "."
        whole, frac = token[:last], token[last + 1 :]
        if token.count(point) != 1 or not _valid_groups(whole, grouping):
            return None
        return Decimal(f"{whole.replace(grouping, '')}.{frac}")
    sep = "." if dots else ","
    if dots + commas > 1:
        return Decimal(token.replace(sep, "")) if _valid_groups(token, sep) else None
    whole, frac = token.split(sep)
    # One separator before exactly three digits groups thousands ("45.000", "45,000"): nobody
    # types prices or weights to the thousandth, and "0,500" still reads as a decimal.
    if len(frac) == 3 and _valid_groups(token, sep):
        return Decimal(whole + frac)
    return Decimal(f"{whole}.{frac}")


def parse_number(text: str) -> Decimal | None:
    """Parse a number typed the Vietnamese way ("45.000", "45,5", "1.234.567") or None."""
    s = _SPACE_GROUP.sub("", text.strip())
    if not s or len(s) > _MAX_INPUT:
        return None
    negative = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    if not _NUMBER.fullmatch(s):
        return None
    value = _decimal_from_token(s)
    return -value if negative and value is not None else value


# --- units ---------------------------------------------------------------------------------

UNITS: dict[str, str] = {
    "kg": "kg",
    "g": "gam",
    "lạng": "lạng",
    "yến": "yến",
    "tạ": "tạ",
    "tấn": "tấn",
    "lít": "lít",
    "ml": "ml",
    "quả": "quả",
    "hộp": "hộp",
    "túi": "túi",
    "bó": "bó",
    "chai": "chai",
    "gói": "gói",
    "thùng": "thùng",
    "bao": "bao",
    "cây": "cây",
    "con": "con",
    "cái": "cái",
    "hũ": "hũ",
    "lọ": "lọ",
    "khay": "khay",
    "buồng": "buồng",
    "nải": "nải",
    "mớ": "mớ",
}
KG_PER_UNIT: dict[str, Decimal] = {
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "lạng": Decimal("0.1"),
    "yến": Decimal(10),
    "tạ": Decimal(100),
    "tấn": Decimal(1000),
}
# Units measured rather than counted: only these take fractions ("1,5 kg", not "1,5 quả").
_CONTINUOUS = frozenset({*KG_PER_UNIT, "lít", "ml"})
_SPELLINGS: dict[str, str] = {
    **{unit: unit for unit in UNITS},
    **dict.fromkeys(["kgs", "kilo", "kilos", "kilogam", "kilogram", "cân", "ký", "kí"], "kg"),
    **dict.fromkeys(("ki lô", "kí lô", "ký lô", "ki lô gam"), "kg"),
    **dict.fromkeys(["gr", "gram", "grams", "gam"], "g"),
    **dict.fromkeys(["l", "lit", "lits", "liter", "litre"], "lít"),
    **dict.fromkeys(("mililit", "mi li lít"), "ml"),
    **dict.fromkeys(["ton", "tons"], "tấn"),
    "trái": "quả",
    "chiếc": "cái",
}
# Looked up folded and without spaces, so "ki lo", "kilo" and "Ki-lô" are one spelling.
_UNIT_ALIASES = {fold(s).replace(" ", ""): unit for s, unit in _SPELLINGS.items()}
_UNIT_PATTERN = "|".join(
    s.replace(" ", r"\s*") for s in sorted({fold(s) for s in _SPELLINGS}, key=len, reverse=True)
)


def parse_unit(text: str) -> str | None:
    """Map any typed spelling of a unit ("Kg", "ki lô", "can", "tạ") to its canonical name."""
    return _UNIT_ALIASES.get(fold(text).replace(" ", ""))


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (200, not 2E+2)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


# --- prices and quantities -----------------------------------------------------------------

_MAX_PRICE = 10**12
_MAX_QUANTITY = 10**9
_DIGIT_WORDS = {
    **{"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5},
    **{"sau": 6, "bay": 7, "tam": 8, "chin": 9, "muoi": 10},
}
_BIG = {
    **dict.fromkeys(("k", "nghin", "ngan"), 10**3),
    **dict.fromkeys(("tr", "trieu"), 10**6),
    **dict.fromkeys(("ty", "ti"), 10**9),
}
_SMALL = {"tram": 100, "chuc": 10}
_CURRENCY = frozenset({"d", "dong", "vnd"})
_HALF = "ruoi"  # rưỡi: "1 triệu rưỡi" = 1,5 triệu
_WORDS = sorted({*_DIGIT_WORDS, *_BIG, *_SMALL, *_CURRENCY, _HALF}, key=len, reverse=True)
_PRICE_TOKEN = re.compile(rf"\s*(?:(?P<num>{_NUMBER_TOKEN})|(?P<word>{'|'.join(_WORDS)}))")
_PRICE_UNIT = re.compile(
    rf"(?P<rest>.*?)\s*(?P<marker>/|\b(?:mot|moi|tren|cho|per)\b)?"
    rf"\s*(?P<one>(?<![0-9.,])(?:1|mot)(?![0-9.,]))?\s*(?<![a-z])(?P<unit>{_UNIT_PATTERN})"
)
_QUANTITY = re.compile(
    rf"(?P<num>{_NUMBER_TOKEN}|{'|'.join(_DIGIT_WORDS)}|nua)\s*(?<![a-z])(?P<unit>{_UNIT_PATTERN})?"
    rf"(?:\s*(?P<tail>{_HALF}|[0-9]{{1,3}}))?"
)
# Words people wrap a price or amount in: "giá 45k thôi", "khoảng 2 tạ ạ".
_LEADING = re.compile(r"^(?:(?:gia|ban|la|khoang|tam|chung|co|con|duoc|mua|dat|lay)\s+)+")
_TRAILING = re.compile(r"(?:[\s.!?,;:…]+|\s+(?:thoi|thui|a|nhe|nha|nhi|day|ha)\b)+$")


@dataclass(frozen=True)
class Price:
    """A price in whole VND, per `unit` when the user typed one."""

    amount: int
    unit: str | None = None


@dataclass(frozen=True)
class Quantity:
    """An amount of a canonical unit, with its weight in kg when the unit is a weight."""

    amount: Decimal
    unit: str
    kg: Decimal | None = None


def _candidates(text: str) -> Iterator[str]:
    """Yield the folded input, then the same with filler words stripped."""
    text = text.strip()
    if len(text) > _MAX_INPUT:
        return
    folded = _SPACE_GROUP.sub("", _fold_keep(text))
    yield folded
    bare = _LEADING.sub("", _TRAILING.sub("", folded))
    if bare != folded:
        yield bare


def _amount(text: str) -> tuple[Decimal, bool] | None:
    """Read "1tr2", "2 trăm nghìn", "45.000đ"; return (value, ends with a money word)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _PRICE_TOKEN.match(text, pos)
        if m is None:
            return None
        tokens.append(("num", m["num"]) if m["num"] else ("word", m["word"]))
        pos = m.end()
    return _amount_from(tokens)


def _amount_from(tokens: list[tuple[str, str]]) -> tuple[Decimal, bool] | None:
    """Evaluate price tokens like a spoken Vietnamese number."""
    total = Decimal(0)
    current: Decimal | None = None
    raw = ""  # digits of the number after the last big multiplier, for "1tr2"
    small = big = 0
    done = False  # after rưỡi or a currency word only a currency word may follow
    money = False
    for kind, value in tokens:
        is_currency = kind == "word" and value in _CURRENCY
        if done and not is_currency:
            return None
        if is_currency:
            done = money = True
        elif kind == "num" or value in _DIGIT_WORDS:
            if current is not None:
                return None
            current = _decimal_from_token(value) if kind == "num" else Decimal(_DIGIT_WORDS[value])
            raw, small = (value if kind == "num" else ""), 0
            if current is None:
                return None
        elif value in _SMALL:
            if current is None or small:
                return None
            small = _SMALL[value]
            current *= small
        elif value in _BIG:
            if current is None or (big and _BIG[value] >= big):
                return None
            big = _BIG[value]
            total += current * big
            current, small, money = None, 0, True
        else:  # rưỡi: half of the multiplier just said
            if current is not None and small:
                current += small / Decimal(2)
            elif current is None and big:
                total += big / Decimal(2)
            else:
                return None
            done = True
    if current is not None:
        if not big:
            total += current
        elif small:  # "1 triệu 2 trăm" = 1.200.000: the remainder counts in thousands
            total += current * big / 1000
        elif raw.isdigit() and len(raw) < len(str(big)):  # "1tr2", "45k5": next digits
            total += Decimal(f"0.{raw}") * big
        else:
            return None
        money = False
    elif not tokens:
        return None
    return total, money


def parse_price(text: str) -> Price | None:
    """Parse a price as typed ("45k", "45.000đ/kg", "1tr2", "1,2 triệu một tạ") or None."""
    for candidate in _candidates(text):
        price = _price(candidate)
        if price is not None:
            return price
    return None


def _price(text: str) -> Price | None:
    """Parse one folded price candidate."""
    unit = None
    m = _PRICE_UNIT.fullmatch(text)
    if m is not None and m["rest"]:
        text, unit = m["rest"], _UNIT_ALIASES[m["unit"].replace(" ", "")]
    parsed = _amount(text)
    if parsed is None:
        return None
    value, money = parsed
    # Without "/", "một" or a money word before it, "2 tạ" is a quantity, not a price.
    if unit is not None and m is not None and not (m["marker"] or m["one"] or money):
        return None
    if value <= 0 or value > _MAX_PRICE or value != value.to_integral_value():
        return None
    return Price(int(value), unit)


def parse_quantity(text: str, default_unit: str | None = None) -> Quantity | None:
    """Parse an amount with its unit ("2 tạ", "500g", "1,5 kg", "10 ki lô") or None."""
    fallback = parse_unit(default_unit) if default_unit else None
    for candidate in _candidates(text):
        m = _QUANTITY.fullmatch(candidate)
        if m is not None:
            quantity = _quantity(m, fallback)
            if quantity is not None:
                return quantity
    return None


def _quantity(m: re.Match[str], fallback: str | None) -> Quantity | None:
    """Build a Quantity from a _QUANTITY match."""
    num, tail = m["num"], m["tail"]
    unit = _UNIT_ALIASES[m["unit"].replace(" ", "")] if m["unit"] else fallback
    if unit is None:
        return None
    if num == "nua":
        amount: Decimal | None = Decimal("0.5")
    elif num in _DIGIT_WORDS:
        amount = Decimal(_DIGIT_WORDS[num])
    else:
        amount = _decimal_from_token(num)
    if amount is None:
        return None
    if tail:
        if not m["unit"] or amount != amount.to_integral_value() or num == "nua":
            return None
        amount += Decimal("0.5") if tail == _HALF else Decimal(f"0.{tail}")
    if amount <= 0 or amount > _MAX_QUANTITY:
        return None
    if unit not in _CONTINUOUS and amount != amount.to_integral_value():
        return None
    per_kg = KG_PER_UNIT.get(unit)
    return Quantity(_tidy(amount), unit, None if per_kg is None else _tidy(amount * per_kg))


def price_per_unit(price: Price, unit: str) -> int | None:
    """Convert a price per one weight unit into per `unit` (whole đồng); None if incompatible.

    A price typed without a unit is taken to be per `unit` already.
    """
    target = unit if unit in UNITS else parse_unit(unit)
    if target is None:
        return None
    if price.unit is None or price.unit == target:
        return price.amount
    source_kg, target_kg = KG_PER_UNIT.get(price.unit), KG_PER_UNIT.get(target)
    if source_kg is None or target_kg is None:
        return None
    return int((price.amount * target_kg / source_kg).quantize(Decimal(1), ROUND_HALF_UP))


# --- phone numbers -------------------------------------------------------------------------

_PHONE_CHARS = re.compile(r"\(?\+?[0-9\s.\-()]+")
_NON_DIGIT = re.compile(r"[^0-9]")
_MOBILE_PREFIXES = frozenset("35789")  # 03x, 05x, 07x, 08x, 09x since the 2018 renumbering


# A number inside words: "sdt cua toi la 0987.654.321 nhe", "so no +84 912 345 678".
_PHONE_IN_TEXT = re.compile(r"(?<![0-9+])(?:\+\s?84|0084|84|0)(?:[\s.\-]?[0-9]){8,10}(?![0-9])")
_PHONE_TEXT_MAX = 120


def normalize_phone(text: str) -> str | None:
    """Turn a Vietnamese mobile number as typed into "+84xxxxxxxxx", or None.

    Words around one number are allowed ("sđt của tôi 0987.654.321"); two numbers are not.
    """
    s = text.strip().translate(_STRIP)
    if not s or len(s) > _PHONE_TEXT_MAX:
        return None
    if len(s) > 32 or not _PHONE_CHARS.fullmatch(s):
        found = _PHONE_IN_TEXT.findall(s)
        if len(found) != 1 or any(c.isdigit() for c in s.replace(found[0], " ")):
            return None  # two numbers, or a number and an amount: ask rather than guess
        return _national(found[0])
    return _national(s)


def _national(s: str) -> str | None:
    """The "+84…" form of a string made only of phone characters."""
    digits = _NON_DIGIT.sub("", s)
    if "+" in s or digits.startswith("0084"):
        digits = digits.removeprefix("00")
        if not digits.startswith("84"):
            return None
        national = digits[2:].removeprefix("0")  # "+84 0912…": the trunk 0 typed anyway
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    if len(national) != 9 or national[0] not in _MOBILE_PREFIXES:
        return None
    return "+84" + national


def display_phone(e164: str) -> str:
    """Show a stored "+84912345678" the way Vietnamese write it: "0912 345 678"."""
    phone = normalize_phone(e164)
    if phone is None:
        return e164
    national = "0" + phone[3:]
    return f"{national[:4]} {national[4:7]} {national[7:]}"


# --- cutting text to a limit ---------------------------------------------------------------

_ELLIPSIS = "…"
_LAST_SPACE = re.compile(r"\s(?=\S*$)")
# Break points from best to worst: (pattern, chunk ends at match start).
_BREAKS = (
    re.compile(r"\n[ \t]*\n\s*"),
    re.compile(r"(?<=[.?!…])\s+|(?<=[.?!…][\"')\]»])\s+|\n\s*"),
    re.compile(r"\s+"),
)


def _safe_cut(text: str, end: int, start: int = 0) -> int:
    """Move a hard cut back so a combining mark never leaves its letter."""
    while end > start + 1 and end < len(text) and unicodedata.combining(text[end]):
        end -= 1
    return end


def clip(text: str, limit: int) -> str:
    """Cut `text` at a word boundary to at most `limit` characters, ending in "…" if cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return _ELLIPSIS[:limit]
    head = text[: limit - 1]
    if not text[limit - 1].isspace():
        m = _LAST_SPACE.search(head)
        if m is not None and m.start() >= (limit - 1) // 2:
            head = head[: m.start()]
        else:
            head = head[: _safe_cut(text, limit - 1)]
    head = head.rstrip(" \t\r\n,;:-–")
    return (head or text[: _safe_cut(text, limit - 1)]) + _ELLIPSIS


def _break_at(text: str, start: int, limit: int) -> tuple[int, int]:
    """Find where the chunk starting at `start` ends and where the next one begins."""
    window = text[start : start + limit + 1]
    fallback: tuple[int, int] | None = None
    for pattern in _BREAKS:
        best = None
        for m in pattern.finditer(window):
            if m.start() > limit:
                break
            if m.start() > 0:
                best = m
        if best is not None:
            # A better kind of break wins unless it would leave a tiny chunk.
            if best.start() >= limit // 3:
                return start + best.start(), start + best.end()
            if fallback is None or best.start() > fallback[0] - start:
                fallback = start + best.start(), start + best.end()
    if fallback is not None:
        return fallback
    end = _safe_cut(text, start + limit, start)
    return end, end


def split_message(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` characters, at paragraph/sentence/word breaks."""
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    start, length = 0, len(text)
    while True:
        while start < length and text[start].isspace():
            start += 1
        if length - start <= limit:
            rest = text[start:].rstrip()
            if rest:
                chunks.append(rest)
            return chunks
        end, following = _break_at(text, start, limit)
        chunks.append(text[start:end].rstrip())
        start = following


# --- ids and hashtags ----------------------------------------------------------------------


def slug(text: str) -> str:
    """Make an ASCII id from a name: "Na Chi Lăng" → "na-chi-lang"."""
    return "-".join(fold(text).encode("ascii", "ignore").decode().split())


def hashtag(text: str) -> str:
    """Make a hashtag from a name: "Na Chi Lăng" → "#NaChiLang" ("" if nothing is left)."""
    ascii_text = text.translate(_STRIP).encode("ascii", "ignore").decode()
    words = _NON_WORD.sub(" ", ascii_text).split()
    # Keep the rest of each word as typed so "OCOP" and "VietGAP" survive.
    tag = "".join(word[0].upper() + word[1:] for word in words)
    return "#" + tag if tag else ""
