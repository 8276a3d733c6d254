"""Communes typed the way people say them since the 2025 merger (content/areas.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.catalog import Directory
from bot.text import normalize_phone
from tests.helpers.driver import Chat, make_app

AREAS = Directory.from_yaml(Path(__file__).resolve().parent.parent / "content" / "areas.yaml")


def sure(text: str) -> str:
    """The unit picked without asking (the onboarding step's rule), or ""."""
    found = AREAS.match(text)
    if (
        found
        and found[0].score >= 90
        and (len(found) == 1 or found[0].score - found[1].score >= 8)
    ):
        return found[0].entry.name
    return ""


@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("chi lang", "Xã Chi Lăng"),
        ("xa chi lang", "Xã Chi Lăng"),
        ("x. Chi Lăng", "Xã Chi Lăng"),
        ("xa chi lang huyen chi lang", "Xã Chi Lăng"),
        ("xã Chi Lăng huyện Tràng Định", "Xã Thất Khê"),  # the former commune of that name
        ("p. Đông Kinh", "Phường Đông Kinh"),
        ("phuong dong kinh", "Phường Đông Kinh"),
        ("thi tran dong mo", "Xã Chi Lăng"),
        ("mai sao", "Xã Nhân Lý"),  # a former commune, merged
    ],
)
def test_typed_commune_finds_the_current_unit(typed: str, unit: str) -> None:
    assert sure(typed) == unit


@pytest.mark.parametrize("typed", ["huyen chi lang", "h. Chi Lăng", "huyện Tràng Định"])
def test_a_former_district_alone_lists_the_units_it_became(typed: str) -> None:
    found = AREAS.match(typed)
    assert sure(typed) == "" and len(found) >= 4
    district = typed.split(maxsplit=1)[1]
    assert {m.entry.id for m in found} == {e.id for e in AREAS.in_district(district)}


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("sdt cua toi 0987.654.321", "+84987654321"),
        ("số tôi là 098 765 4321 nhé", "+84987654321"),
        ("sdt khach la +84 912 345 678", "+84912345678"),
        ("0912-345-678 a", "+84912345678"),
    ],
)
def test_a_phone_with_words_around_it(typed: str, phone: str) -> None:
    assert normalize_phone(typed) == phone


@pytest.mark.parametrize("typed", ["0912345678 hoac 0987654321", "mua 2 kg, sdt 0912345678"])
def test_two_numbers_are_not_guessed(typed: str) -> None:
    assert normalize_phone(typed) is None


async def test_registering_with_a_former_district_lists_its_communes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    chat = Chat(app, "web:area1", "Lan")
    await chat.say("/start")
    await chat.say("Lan")
    await chat.tap("addr:chi")
    await chat.say("0912345678")
    await chat.say("huyen chi lang")
    offered = {p.removeprefix("area:") for _l, p in chat.buttons() if p.startswith("area:")}
    assert {e.id for e in AREAS.in_district("chi lang")} <= offered
    await chat.say("xa chi lang huyen chi lang")  # typed again, more precisely
    user = app.services.users.by_key("web:area1")
    assert user is not None and app.services.areas.name(user.area) == "Xã Chi Lăng"
