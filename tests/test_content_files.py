"""Checks on the seed content admins edit: areas, products, FAQ and the labelled FAQ queries."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
QUERIES = ROOT / "tests" / "data" / "faq_queries.csv"

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Nghị quyết 1672/NQ-UBTVQH15: Lạng Sơn has 61 xã and 4 phường since 1 July 2025.
AREA_COUNTS = {"xa": 61, "phuong": 4}
FORMER_DISTRICTS = {
    "Tràng Định",
    "Bình Gia",
    "Văn Lãng",
    "Cao Lộc",
    "Văn Quan",
    "Bắc Sơn",
    "Hữu Lũng",
    "Chi Lăng",
    "Lộc Bình",
    "Đình Lập",
    "Thành phố Lạng Sơn",
}
PRODUCT_CATEGORIES = {
    "trai-cay",
    "rau-cu",
    "gia-vi",
    "che",
    "dac-san-che-bien",
    "luong-thuc",
    "duoc-lieu",
    "chan-nuoi",
}
FAQ_HEADER = ["id", "question", "alternatives", "answer", "tags"]
MAX_ANSWER_CHARS = 700


def fold(text: str) -> str:
    """Lower-case ASCII form of Vietnamese text: catches copies with or without diacritics."""
    text = text.replace("Đ", "D").replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def load_yaml_list(path: Path) -> list[dict[str, Any]]:
    """A YAML file whose top level is a list of mappings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, list), f"{path.name}: top level must be a list"
    assert all(isinstance(item, dict) for item in data), f"{path.name}: every entry is a mapping"
    return data


def load_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 CSV file."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def areas() -> list[dict[str, Any]]:
    """content/areas.yaml."""
    return load_yaml_list(CONTENT / "areas.yaml")


@pytest.fixture(scope="module")
def products() -> list[dict[str, Any]]:
    """content/products.yaml."""
    return load_yaml_list(CONTENT / "products.yaml")


@pytest.fixture(scope="module")
def faq() -> list[dict[str, str]]:
    """content/faq.csv rows, after checking its header."""
    header, rows = load_csv(CONTENT / "faq.csv")
    assert header == FAQ_HEADER
    return rows


@pytest.fixture(scope="module")
def queries() -> list[dict[str, str]]:
    """tests/data/faq_queries.csv rows, after checking its header."""
    header, rows = load_csv(QUERIES)
    assert header == ["query", "expected_id"]
    return rows


def assert_unique_slugs(ids: list[Any]) -> None:
    """Every id is slug-shaped and appears once."""
    bad = [i for i in ids if not isinstance(i, str) or not SLUG.match(i)]
    assert not bad, f"ids not slug-shaped: {bad}"
    dups = [i for i, n in Counter(ids).items() if n > 1]
    assert not dups, f"duplicate ids: {dups}"


def test_areas_ids_and_fields(areas: list[dict[str, Any]]) -> None:
    """Each area has a unique slug id, an official name matching its kind, a former district."""
    assert_unique_slugs([a.get("id") for a in areas])
    for a in areas:
        assert a.get("kind") in AREA_COUNTS, a
        prefix = "Xã " if a["kind"] == "xa" else "Phường "
        assert str(a.get("name", "")).startswith(prefix), a
        assert a.get("former_district") in FORMER_DISTRICTS, a
        for other in a.get("other_former_districts", []):
            assert other in FORMER_DISTRICTS and other != a["former_district"], a
        assert isinstance(a.get("aliases", []), list), a
        assert a.get("former_units"), a


def test_areas_count_matches_resolution(areas: list[dict[str, Any]]) -> None:
    """65 units: 61 xã and 4 phường, with no name listed twice."""
    assert dict(Counter(a["kind"] for a in areas)) == AREA_COUNTS
    names = [fold(a["name"]) for a in areas]
    assert len(set(names)) == len(names)


def test_area_aliases_do_not_name_another_area(areas: list[dict[str, Any]]) -> None:
    """A bare alias equal to another unit's name would send users to the wrong commune."""
    bare_names = {fold(a["name"].split(" ", 1)[1]): a["id"] for a in areas}
    for a in areas:
        for alias in a.get("aliases", []):
            owner = bare_names.get(fold(alias))
            assert owner in (None, a["id"]), f"{a['id']}: alias {alias!r} names {owner}"


def test_products_fields(products: list[dict[str, Any]]) -> None:
    """Each product has a unique slug id, a name, a known category and a default unit."""
    assert_unique_slugs([p.get("id") for p in products])
    for p in products:
        assert str(p.get("name", "")).strip(), p
        assert p.get("category") in PRODUCT_CATEGORIES, p
        assert str(p.get("default_unit", "")).strip(), p
        assert str(p.get("origin", "")).strip(), p
        tags = p.get("hashtags", [])
        assert tags and all(re.fullmatch(r"#\w+", t, re.ASCII) for t in tags), p
        assert isinstance(p.get("aliases", []), list), p


def test_products_cover_the_brief_specialties(products: list[dict[str, Any]]) -> None:
    """The specialties named in the product brief are all pickable."""
    names = {fold(p["name"]) for p in products}
    for wanted in ("na chi lang", "hong vanh khuyen van lang", "hong khong hat bao lam"):
        assert wanted in names
    for wanted in ("thach den trang dinh", "quyt vang bac son", "hoa hoi", "che dinh lap"):
        assert any(n.startswith(wanted) for n in names), wanted


def test_faq_entries(faq: list[dict[str, str]]) -> None:
    """At least 40 entries; unique slug ids; 3–6 alternatives; short polite answers; tags."""
    assert len(faq) >= 40
    assert_unique_slugs([r["id"] for r in faq])
    for r in faq:
        assert r["question"].strip() and r["answer"].strip(), r["id"]
        alts = [a.strip() for a in r["alternatives"].split(" | ")]
        assert 3 <= len(alts) <= 6 and all(alts), r["id"]
        assert len(r["answer"]) <= MAX_ANSWER_CHARS, r["id"]
        assert r["answer"].startswith("Dạ"), r["id"]
        tags = r["tags"].split(";")
        assert tags and all(SLUG.match(t) for t in tags), r["id"]


def test_faq_phrasings_are_not_shared(faq: list[dict[str, str]]) -> None:
    """One phrasing belongs to one entry, or the matcher cannot tell them apart."""
    owner: dict[str, str] = {}
    for r in faq:
        for phrase in [r["question"], *r["alternatives"].split(" | ")]:
            key = fold(phrase)
            assert owner.setdefault(key, r["id"]) == r["id"], f"{phrase!r} in two entries"


def test_queries_are_labelled_with_known_ids(
    faq: list[dict[str, str]], queries: list[dict[str, str]]
) -> None:
    """Every expected_id exists; every entry is exercised at least twice."""
    ids = {r["id"] for r in faq}
    labels = [q["expected_id"] for q in queries]
    unknown = sorted({i for i in labels if i and i not in ids})
    assert not unknown, f"unknown expected_id: {unknown}"
    per_entry = Counter(i for i in labels if i)
    thin = sorted(i for i in ids if per_entry[i] < 2)
    assert not thin, f"entries with fewer than 2 queries: {thin}"


def test_queries_volume_and_out_of_scope(queries: list[dict[str, str]]) -> None:
    """Enough in-scope queries and at least 40 that must get no answer."""
    in_scope = [q for q in queries if q["expected_id"]]
    out_of_scope = [q for q in queries if not q["expected_id"]]
    assert len(in_scope) >= 170
    assert len(out_of_scope) >= 40
    assert all(q["query"].strip() for q in queries)


def test_queries_are_not_copies_of_faq_phrasings(
    faq: list[dict[str, str]], queries: list[dict[str, str]]
) -> None:
    """An evaluation query identical to a stored phrasing would measure nothing."""
    stored = {fold(r["question"]) for r in faq}
    stored |= {fold(a) for r in faq for a in r["alternatives"].split(" | ")}
    copies = [q["query"] for q in queries if fold(q["query"]) in stored]
    assert not copies, f"queries copied from the FAQ: {copies}"
    folded = [fold(q["query"]) for q in queries]
    dups = [k for k, n in Counter(folded).items() if n > 1]
    assert not dups, f"duplicate queries: {dups}"


def test_queries_are_mostly_typed_without_diacritics(queries: list[dict[str, str]]) -> None:
    """Farmers mostly type without diacritics; the set must reflect that."""
    plain = [q for q in queries if q["expected_id"] and q["query"].isascii()]
    assert len(plain) * 2 > sum(1 for q in queries if q["expected_id"])
