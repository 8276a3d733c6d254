"""Vietnamese text handling as farmers and buyers actually type it."""

from __future__ import annotations

import random
import re
import unicodedata
from decimal import Decimal

import pytest

from bot.text import (
    KG_PER_UNIT,
    UNITS,
    Price,
    Quantity,
    clip,
    display_phone,
    expand_abbreviations,
    fold,
    hashtag,
    normalize_phone,
    parse_number,
    parse_price,
    parse_quantity,
    parse_unit,
    price_per_unit,
    slug,
    split_message,
)


def nfd(text: str) -> str:
    """Decompose text the way macOS and some Android keyboards send it."""
    return unicodedata.normalize("NFD", text)


SPECIALTIES = [
    "Na Chi Lăng",
    "Hồng vành khuyên Văn Lãng",
    "Hồng không hạt Bảo Lâm",
    "Thạch đen Tràng Định",
    "Quýt vàng Bắc Sơn",
    "Hoa hồi",
    "Chè Đình Lập",
    "Xã Chi Lăng",
]

# --- fold ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Xã Chi Lăng", "xa chi lang"),
        ("  NA   chi-LĂNG!! ", "na chi lang"),
        ("ĐÌNH LẬP", "dinh lap"),
        ("đường", "duong"),
        ("Hồng không hạt", "hong khong hat"),
        ("quýt vàng Bắc Sơn.", "quyt vang bac son"),
        ("na_chi_lang", "na chi lang"),
        ("giá: 45.000đ/kg", "gia 45 000d kg"),
        ("na 🍈 chi lăng 👍🏻", "na chi lang"),
        ("na\u00a0chi\tlăng\n", "na chi lang"),
        ("na\u200bchi", "nachi"),  # a zero-width space must not split a word
        ("ＮＡ ｃｈｉ", "na chi"),  # full-width keyboard
        ("", ""),
        ("!!! ... ???", ""),
        ("Ưu đãi", "uu dai"),
        ("Ðà Lạt", "da lat"),  # eth look-alike typed for Đ
    ],
)
def test_fold_examples(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_fold_ignores_unicode_normal_form() -> None:
    for name in SPECIALTIES:
        assert fold(nfd(name)) == fold(name)
        assert fold(unicodedata.normalize("NFC", name)) == fold(name)


@pytest.mark.parametrize(("old", "new"), [("hoà", "hòa"), ("thuý", "thúy"), ("khoẻ", "khỏe")])
def test_fold_ignores_old_and_new_tone_placement(old: str, new: str) -> None:
    assert fold(old) == fold(new)
    assert fold(nfd(old)) == fold(new)


def test_fold_output_is_plain_lowercase_ascii_for_vietnamese() -> None:
    alphabet = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY"
    tones = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    rng = random.Random(7)
    for _ in range(300):
        words = []
        for _ in range(rng.randint(1, 5)):
            word = "".join(
                rng.choice(alphabet) + rng.choice(tones) for _ in range(rng.randint(1, 7))
            )
            words.append(nfd(word) if rng.random() < 0.5 else unicodedata.normalize("NFC", word))
        text = rng.choice([" ", "  ", ", ", "-", "\n"]).join(words)
        folded = fold(text)
        assert folded.isascii()
        assert folded == folded.lower() == folded.strip()
        assert "  " not in folded
        assert len(folded.split()) == len(words)
        assert fold(folded) == folded  # idempotent


def _reference_fold(text: str) -> str:
    """Fold the slow obvious way, to check the table-driven fold against."""
    decomposed = nfd(text.lower()).replace("đ", "d")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", bare).split())


def test_fold_agrees_with_reference_implementation() -> None:
    rng = random.Random(23)
    alphabet = "aăâđeêioôơuưyAĂÂĐEÊIOÔƠUƯY bcghknqrstxz019 .,;:!?-_/()'\"\n\t🍈👍🏻€£±×çñüöéÅØ中文"
    marks = ["", "", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) + rng.choice(marks) for _ in range(rng.randint(0, 30)))
        assert fold(text) == _reference_fold(text), text


def test_fold_huge_input() -> None:
    text = "Na Chi Lăng ngon ngọt 🍈, " * 40_000
    folded = fold(text)
    assert folded.startswith("na chi lang ngon ngot na chi lang")
    assert len(folded.split()) == 5 * 40_000


# --- abbreviations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expanded"),
    [
        ("sp nay bn 1 kg", "san pham nay bao nhieu 1 kg"),
        ("co ship ko", "co giao hang khong"),
        ("k dc", "khong duoc"),
        ("hok biet", "khong biet"),
        ("khg co sdt", "khong co so dien thoai"),
        ("gia j", "gia gi"),
        ("lam ntn", "lam nhu the nao"),
        ("ck vs tk nao", "chuyen khoan voi tai khoan nao"),
        ("quen mk", "quen mat khau"),
        ("ban tren tmdt", "ban tren thuong mai dien tu"),
        ("so dt", "so dien thoai"),
    ],
)
def test_expand_abbreviations(typed: str, expanded: str) -> None:
    assert expand_abbreviations(typed) == expanded


def test_expand_abbreviations_works_on_folded_diacritics() -> None:
    assert expand_abbreviations(fold("đc ko ạ")) == "duoc khong a"
    assert expand_abbreviations(fold("SĐT của bạn")) == "so dien thoai cua ban"


@pytest.mark.parametrize(
    "text",
    [
        "hong vanh khuyen van lang",  # hồng is a persimmon, not "không"
        "2 kg",  # kg is a weight, never "không"
        "45 k",  # k after a number is "nghìn"
        "khong co gi",
        "kohn skip shipping",  # only whole tokens
        "",
    ],
)
def test_expand_abbreviations_leaves_these_alone(text: str) -> None:
    assert expand_abbreviations(text) == text


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("45", "45"),
        ("45,5", "45.5"),
        ("45.5", "45.5"),
        ("4.5", "4.5"),
        ("0,5", "0.5"),
        ("45.000", "45000"),
        ("45,000", "45000"),
        ("1.234.567", "1234567"),
        ("1,234,567", "1234567"),
        ("1 234 567", "1234567"),
        ("1.234,5", "1234.5"),
        ("1,234.5", "1234.5"),
        ("0.500", "0.5"),  # a leading 0 is never a thousands group
        ("12345.678", "12345.678"),
        (" 45 ", "45"),
        ("-3", "-3"),
        ("+3", "3"),
        ("007", "7"),
    ],
)
def test_parse_number(typed: str, value: str) -> None:
    assert parse_number(typed) == Decimal(value)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        " ",
        "abc",
        "-",
        "+",
        "1..2",
        "1,,2",
        "45.",
        ".5",
        ",5",
        "1.2.3",  # groups after the first must be three digits
        "1.234.56",
        "1,234.567.8",
        "1.234,567,8",
        "12 34",
        "45k",
        "4 5",
        "1e5",
        "NaN",
        "Infinity",
        "٤٥",  # Arabic-Indic digits
        "１２",  # full-width digits are not a bare number
        "- 3",
        "1" * 300,
    ],
)
def test_parse_number_rejects(typed: str) -> None:
    assert parse_number(typed) is None


def test_parse_number_round_trips_vietnamese_formatting() -> None:
    rng = random.Random(11)
    for _ in range(500):
        n = rng.randint(0, 10**12)
        grouped = f"{n:,}"
        assert parse_number(grouped.replace(",", ".")) == n
        assert parse_number(grouped) == n
        cents = rng.randint(1, 9)
        assert parse_number(f"{grouped.replace(',', '.')},{cents}") == Decimal(f"{n}.{cents}")


# --- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("kg", "kg"),
        ("Kg", "kg"),
        ("KG.", "kg"),
        ("ki lô", "kg"),
        ("ki lo", "kg"),
        ("Ki-lô", "kg"),
        ("kilogam", "kg"),
        ("cân", "kg"),
        ("can", "kg"),
        ("ký", "kg"),
        ("g", "g"),
        ("gam", "g"),
        ("gr", "g"),
        ("tạ", "tạ"),
        ("ta", "tạ"),
        ("tấn", "tấn"),
        ("tan", "tấn"),
        ("yến", "yến"),
        ("lạng", "lạng"),
        ("quả", "quả"),
        ("trái", "quả"),
        ("hộp", "hộp"),
        ("hop", "hộp"),
        ("túi", "túi"),
        ("bó", "bó"),
        ("lít", "lít"),
        ("l", "lít"),
        ("chiếc", "cái"),
        (nfd("thùng"), "thùng"),
    ],
)
def test_parse_unit(typed: str, unit: str) -> None:
    assert parse_unit(typed) == unit


@pytest.mark.parametrize("typed", ["", "xyz", "k", "kgg", "2 kg", "nghin"])
def test_parse_unit_rejects(typed: str) -> None:
    assert parse_unit(typed) is None


def test_every_canonical_unit_parses_to_itself_and_has_a_display_name() -> None:
    for unit, display in UNITS.items():
        assert parse_unit(unit) == unit
        assert display
    assert set(KG_PER_UNIT) <= set(UNITS)
    assert KG_PER_UNIT["tạ"] == 100 and KG_PER_UNIT["g"] == Decimal("0.001")


# --- prices --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount", "unit"),
    [
        ("45k", 45_000, None),
        ("45K", 45_000, None),
        ("45 k", 45_000, None),
        ("45.000", 45_000, None),
        ("45,000", 45_000, None),
        ("45000", 45_000, None),
        ("45.000đ", 45_000, None),
        ("45.000 đ", 45_000, None),
        ("45.000₫", 45_000, None),
        ("45000 vnd", 45_000, None),
        ("45.000 VNĐ", 45_000, None),
        ("45kđ", 45_000, None),
        ("45 nghìn", 45_000, None),
        ("45 ngàn", 45_000, None),
        ("45 nghin", 45_000, None),
        ("45 nghìn đồng", 45_000, None),
        ("45,5k", 45_500, None),
        ("45k5", 45_500, None),
        ("1,2 triệu", 1_200_000, None),
        ("1tr2", 1_200_000, None),
        ("1TR2", 1_200_000, None),
        ("1tr25", 1_250_000, None),
        ("1tr250", 1_250_000, None),
        ("1 triệu 2", 1_200_000, None),
        ("1 trieu 200", 1_200_000, None),
        ("1 triệu 200 nghìn", 1_200_000, None),
        ("1 triệu 2 trăm", 1_200_000, None),
        ("1 triệu rưỡi", 1_500_000, None),
        ("2 trăm nghìn", 200_000, None),
        ("hai trăm nghìn", 200_000, None),
        ("năm chục nghìn", 50_000, None),
        ("3 tỷ", 3_000_000_000, None),
        ("1.500.000", 1_500_000, None),
        ("2 000 000 đ", 2_000_000, None),
        ("45 nghin/kg", 45_000, "kg"),
        ("45k/kg", 45_000, "kg"),
        ("45k / kg", 45_000, "kg"),
        ("45k/1kg", 45_000, "kg"),
        ("45k 1kg", 45_000, "kg"),
        ("45k kg", 45_000, "kg"),
        ("45 nghìn một kg", 45_000, "kg"),
        ("45 nghìn mỗi cân", 45_000, "kg"),
        ("45.000 đồng/kg", 45_000, "kg"),
        ("45.000đ/kg", 45_000, "kg"),
        ("1tr5/tạ", 1_500_000, "tạ"),
        ("1,2 triệu một tạ", 1_200_000, "tạ"),
        ("200 ngàn 1 hộp", 200_000, "hộp"),
        ("30k/quả", 30_000, "quả"),
        ("15 triệu/tấn", 15_000_000, "tấn"),
        ("giá 45k", 45_000, None),
        ("Giá bán là 45k/kg thôi ạ", 45_000, "kg"),
        ("khoảng 45 nghìn.", 45_000, None),
        (nfd("1,2 triệu một tạ"), 1_200_000, "tạ"),
        ("４５ｋ", 45_000, None),
        ("  45k  " + " " * 300, 45_000, None),
        ("45", 45, None),  # a bare number is taken literally; the caller confirms odd amounts
    ],
)
def test_parse_price(typed: str, amount: int, unit: str | None) -> None:
    assert parse_price(typed) == Price(amount, unit)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "abc",
        "k",
        "nghìn",
        "đ",
        "0",
        "0k",
        "0 đồng",
        "-45k",
        "45,5",  # half a đồng does not exist
        "40-45k",  # a range is not one price
        "45k-50k",
        "2 tạ",  # a quantity, not a price
        "45.000 kg",
        "45k 11kg",
        "1 nghìn 2 triệu",  # multipliers must go down
        "45k45k",
        "1..2k",
        "10000 tỷ",  # absurd: more than 10^12 đồng
        "một trăm nghìn tỷ",
        "45k/xyz",
        "liên hệ",
        "45 đô",
        "45k " + "1" * 300,
        "9" * 500 + "k",
    ],
)
def test_parse_price_rejects(typed: str) -> None:
    assert parse_price(typed) is None


def test_parse_price_round_trips_formatted_amounts() -> None:
    rng = random.Random(3)
    for _ in range(300):
        thousands = rng.randint(1, 999_999)
        dotted = f"{thousands * 1000:,}".replace(",", ".")
        assert parse_price(f"{thousands}k") == Price(thousands * 1000)
        assert parse_price(f"{dotted}đ") == Price(thousands * 1000)
        assert parse_price(f"{thousands} nghìn/kg") == Price(thousands * 1000, "kg")


def test_parse_price_is_always_positive_whole_dong() -> None:
    rng = random.Random(5)
    pieces = ["1", "45", "0", ",", ".", "5", "k", "tr", " ", "triệu", "/", "kg", "đ", "-", "rưỡi"]
    for _ in range(3000):
        typed = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        price = parse_price(typed)
        if price is not None:
            assert isinstance(price.amount, int)
            assert 0 < price.amount <= 10**12
            assert price.unit is None or price.unit in UNITS


# --- quantities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount", "unit", "kg"),
    [
        ("2 tạ", "2", "tạ", "200"),
        ("2 ta", "2", "tạ", "200"),
        ("1 tấn", "1", "tấn", "1000"),
        ("500g", "500", "g", "0.5"),
        ("500 gam", "500", "g", "0.5"),
        ("3 yến", "3", "yến", "30"),
        ("2 lạng", "2", "lạng", "0.2"),
        ("10kg", "10", "kg", "10"),
        ("10 KG", "10", "kg", "10"),
        ("10 ki lô", "10", "kg", "10"),
        ("10 cân", "10", "kg", "10"),
        ("10 can", "10", "kg", "10"),
        ("5 ký", "5", "kg", "5"),
        ("1,5 kg", "1.5", "kg", "1.5"),
        ("1.5kg", "1.5", "kg", "1.5"),
        ("1 500 kg", "1500", "kg", "1500"),
        ("1.500 kg", "1500", "kg", "1500"),
        ("1 tấn 2", "1.2", "tấn", "1200"),
        ("1 cân rưỡi", "1.5", "kg", "1.5"),
        ("nửa tạ", "0.5", "tạ", "50"),
        ("hai tạ", "2", "tạ", "200"),
        ("tám tạ", "8", "tạ", "800"),
        ("khoảng 2 tạ ạ", "2", "tạ", "200"),
        ("tầm 3 tấn", "3", "tấn", "3000"),
        (nfd("2 tạ"), "2", "tạ", "200"),
    ],
)
def test_parse_quantity_weights(typed: str, amount: str, unit: str, kg: str) -> None:
    assert parse_quantity(typed) == Quantity(Decimal(amount), unit, Decimal(kg))


@pytest.mark.parametrize(
    ("typed", "amount", "unit"),
    [
        ("20 quả", "20", "quả"),
        ("20 trái", "20", "quả"),
        ("5 hộp", "5", "hộp"),
        ("3 túi", "3", "túi"),
        ("2 bó", "2", "bó"),
        ("10 lít", "10", "lít"),
        ("1,5 lít", "1.5", "lít"),
        ("4 chai", "4", "chai"),
        ("1 thùng", "1", "thùng"),
        ("2 con", "2", "con"),
    ],
)
def test_parse_quantity_counts_and_volumes(typed: str, amount: str, unit: str) -> None:
    assert parse_quantity(typed) == Quantity(Decimal(amount), unit, None)


def test_parse_quantity_bare_number_uses_default_unit() -> None:
    assert parse_quantity("20") is None
    assert parse_quantity("20", "kg") == Quantity(Decimal(20), "kg", Decimal(20))
    assert parse_quantity("20", "quả") == Quantity(Decimal(20), "quả", None)
    assert parse_quantity("2", "ta") == Quantity(Decimal(2), "tạ", Decimal(200))
    assert parse_quantity("20", "xyz") is None
    # A typed unit wins over the default.
    assert parse_quantity("3 tạ", "kg") == Quantity(Decimal(3), "tạ", Decimal(300))


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "abc",
        "kg",
        "0",
        "0 kg",
        "-3",
        "-3 kg",
        "1,5 quả",  # fruit is counted, not measured
        "2 xyz",
        "2 tạ 3 kg",
        "20 quả 5",
        "1,5 tấn 2",
        "45k",
        "10^10 kg",
        "2000000000 kg",
        "1..5 kg",
        "2 tạ" + "!" * 300,
    ],
)
def test_parse_quantity_rejects(typed: str) -> None:
    assert parse_quantity(typed) is None


def test_parse_quantity_kg_matches_unit_table() -> None:
    rng = random.Random(9)
    for _ in range(300):
        unit = rng.choice(sorted(KG_PER_UNIT))
        amount = rng.randint(1, 9999)
        quantity = parse_quantity(f"{amount} {unit}")
        assert quantity is not None
        assert quantity.kg == amount * KG_PER_UNIT[unit]


# --- price conversion ----------------------------------------------------------------------


def test_price_per_unit_converts_between_weights() -> None:
    assert price_per_unit(Price(1_200_000, "tạ"), "kg") == 12_000
    assert price_per_unit(Price(45_000, "kg"), "tấn") == 45_000_000
    assert price_per_unit(Price(45_000, "kg"), "g") == 45
    assert price_per_unit(Price(15_000_000, "tấn"), "yến") == 150_000
    assert price_per_unit(Price(100_000, "kg"), "lạng") == 10_000
    assert price_per_unit(Price(1_000, "tạ"), "kg") == 10


def test_price_per_unit_same_unit_none_and_incompatible() -> None:
    assert price_per_unit(Price(30_000, "quả"), "quả") == 30_000
    assert price_per_unit(Price(45_000), "kg") == 45_000  # no unit typed: per the unit asked
    assert price_per_unit(Price(45_000, "kg"), "ki lô") == 45_000
    assert price_per_unit(Price(45_000, "kg"), "quả") is None
    assert price_per_unit(Price(30_000, "quả"), "kg") is None
    assert price_per_unit(Price(45_000, "kg"), "xyz") is None


def test_price_per_unit_round_trip() -> None:
    for amount in (1, 999, 45_000, 1_234_567):
        per_kg = price_per_unit(Price(amount * 100, "tạ"), "kg")
        assert per_kg == amount
        assert price_per_unit(Price(amount, "kg"), "tạ") == amount * 100


# --- phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84 912345678",
        "+84912345678",
        "84912345678",
        "(+84) 912-345-678",
        "+84 0912 345 678",
        "0084 912 345 678",
        " 0912345678 ",
        "０９１２３４５６７８",
    ],
)
def test_normalize_phone_accepts(typed: str) -> None:
    assert normalize_phone(typed) == "+84912345678"


@pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
def test_normalize_phone_all_mobile_ranges(prefix: str) -> None:
    assert normalize_phone(f"{prefix}12345678") == f"+84{prefix[1]}12345678"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "abc",
        "0241234567",  # Hà Nội landline
        "02053812345",  # Lạng Sơn landline
        "0112345678",
        "0412345678",
        "0612345678",
        "01612345678",  # pre-2018 eleven-digit mobile
        "091234567",
        "09123456789",
        "912345678",
        "0912abc678",
        "0912 345 678 ext 1",
        "+1 912345678",
        "+849123456789",
        "++84912345678",
        "0912+345678",
        "84 912 345 67",
        "0912_345_678",
    ],
)
def test_normalize_phone_rejects(typed: str) -> None:
    assert normalize_phone(typed) is None


def test_display_phone() -> None:
    assert display_phone("+84912345678") == "0912 345 678"
    assert display_phone("+84312345678") == "0312 345 678"
    assert display_phone("not a phone") == "not a phone"
    for typed in ("0912.345.678", "(+84) 912-345-678"):
        phone = normalize_phone(typed)
        assert phone is not None
        assert normalize_phone(display_phone(phone)) == phone


# --- clip ----------------------------------------------------------------------------------


def test_clip_keeps_short_text() -> None:
    assert clip("Na Chi Lăng", 11) == "Na Chi Lăng"
    assert clip("", 5) == ""


@pytest.mark.parametrize(
    ("limit", "clipped"),
    [(20, "Na Chi Lăng ngon…"), (12, "Na Chi Lăng…"), (10, "Na Chi…"), (5, "Na…"), (1, "…")],
)
def test_clip_cuts_at_word_boundary(limit: int, clipped: str) -> None:
    assert clip("Na Chi Lăng ngon ngọt", limit) == clipped


def test_clip_long_word_and_decomposed_letters() -> None:
    assert clip("a" * 50, 10) == "a" * 9 + "…"
    decomposed = nfd("Lăng" * 20)
    clipped = clip(decomposed, 10)
    assert len(clipped) <= 10
    assert not unicodedata.combining(clipped[-2])  # no mark torn from its letter
    assert clip("abc", 0) == ""


def test_clip_never_exceeds_limit() -> None:
    rng = random.Random(13)
    words = ["na", "Chi", "Lăng", "🍈", "ngon,", "ngọt.", "\n", "thạch-đen", "x" * 30]
    for _ in range(500):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        limit = rng.randint(1, 80)
        clipped = clip(text, limit)
        assert len(clipped) <= limit
        if len(text) <= limit:
            assert clipped == text
        else:
            assert clipped.endswith("…")
            assert text.startswith(clipped[:-1])


# --- split_message -------------------------------------------------------------------------


def _squash(text: str) -> str:
    return "".join(text.split())


def test_split_short_text_is_one_chunk() -> None:
    assert split_message("Dạ, chào bà con!", 4096) == ["Dạ, chào bà con!"]
    assert split_message("  \n ", 10) == []
    assert split_message("", 10) == []


def test_split_prefers_paragraphs() -> None:
    first = "Bước 1: mở ứng dụng Postmart. Chọn Đăng ký."
    second = "Bước 2: nhập số điện thoại. Chờ mã OTP."
    assert split_message(f"{first}\n\n{second}", 60) == [first, second]


def test_split_prefers_sentences_over_words() -> None:
    text = "Chụp ảnh nơi sáng. Lau sạch quả trước khi chụp! Đừng dùng đèn flash nhé?"
    chunks = split_message(text, 50)
    assert chunks == [
        "Chụp ảnh nơi sáng. Lau sạch quả trước khi chụp!",
        "Đừng dùng đèn flash nhé?",
    ]


def test_split_paragraph_wins_unless_the_chunk_would_be_tiny() -> None:
    first = "Bước 1: mở Postmart."  # 20 characters, a third of the limit
    second = "Bước 2: chọn Đăng ký. Nhập số điện thoại. Chờ mã OTP rồi nhập vào."
    assert split_message(f"{first}\n\n{second}", 60)[0] == first
    tiny = "Dạ.\n\nHôm nay học chụp ảnh sản phẩm. Cần ánh sáng tốt và nền sạch sẽ nhé bà con."
    assert split_message(tiny, 60)[0] == "Dạ.\n\nHôm nay học chụp ảnh sản phẩm."


def test_split_falls_back_to_words_then_hard_cut() -> None:
    assert split_message("một hai ba bốn năm sáu", 9) == ["một hai", "ba bốn", "năm sáu"]
    assert split_message("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]


def test_split_rejects_nonpositive_limit() -> None:
    with pytest.raises(ValueError):
        split_message("abc", 0)


def test_split_huge_text_keeps_every_word() -> None:
    paragraph = "Bà con nhớ kiểm tra đơn hàng mỗi ngày. Xác nhận trong 24 giờ! " * 30
    text = "\n\n".join([paragraph] * 200) + "🍈" * 5000
    chunks = split_message(text, 4096)
    assert all(0 < len(chunk) <= 4096 for chunk in chunks)
    assert all(chunk == chunk.strip() for chunk in chunks)
    assert _squash("".join(chunks)) == _squash(text)


def test_split_property_random_texts() -> None:
    rng = random.Random(17)
    tokens = ["Na", "Chi", "Lăng.", "ngon!", "ngọt?", "🍈", "\n", "\n\n", "x" * 40, " ", "hồng"]
    for _ in range(400):
        text = " ".join(rng.choice(tokens) for _ in range(rng.randint(0, 120)))
        limit = rng.randint(1, 120)
        chunks = split_message(text, limit)
        assert all(0 < len(chunk) <= limit for chunk in chunks)
        assert all(chunk.strip() == chunk for chunk in chunks)
        assert _squash("".join(chunks)) == _squash(text)


def test_split_keeps_decomposed_letters_whole() -> None:
    text = nfd("Lăng") * 10
    for chunk in split_message(text, 7):
        assert not unicodedata.combining(chunk[0])


# --- slug and hashtag ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected_slug", "expected_tag"),
    [
        ("Na Chi Lăng", "na-chi-lang", "#NaChiLang"),
        ("Chè Đình Lập", "che-dinh-lap", "#CheDinhLap"),
        ("hồng không hạt Bảo Lâm", "hong-khong-hat-bao-lam", "#HongKhongHatBaoLam"),
        ("Quýt vàng (OCOP 4★)", "quyt-vang-ocop-4", "#QuytVangOCOP4"),
        ("VietGAP", "vietgap", "#VietGAP"),
        ("  thạch_đen -- Tràng Định! 🍈 ", "thach-den-trang-dinh", "#ThachDenTrangDinh"),
        (nfd("Na Chi Lăng"), "na-chi-lang", "#NaChiLang"),
        ("🍈🍈", "", ""),
        ("", "", ""),
    ],
)
def test_slug_and_hashtag(name: str, expected_slug: str, expected_tag: str) -> None:
    assert slug(name) == expected_slug
    assert hashtag(name) == expected_tag


def test_slug_is_ascii_id_safe() -> None:
    rng = random.Random(19)
    chars = "aăâđêôơưAĂĐ 🍈-_.,!?xyz0123456789\u0301\u0323"
    for _ in range(300):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 30)))
        value = slug(text)
        assert value.isascii()
        assert all(part and part.isalnum() for part in value.split("-")) or value == ""
        tag = hashtag(text)
        assert tag == "" or (tag.startswith("#") and tag[1:].isalnum() and tag.isascii())
