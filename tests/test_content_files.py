"""Checks on the seed content admins edit: areas, products, FAQ and the labelled FAQ queries."""

from __future__ import annotations

import csv
import re
import sys
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


SOURCES = CONTENT / "SOURCES.md"
_SOURCE_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|$")
_CHECKED = re.compile(r"^20\d\d-\d\d-\d\d$")


def source_rows() -> dict[str, tuple[str, str]]:
    """content/SOURCES.md as entry -> (source, checked)."""
    rows: dict[str, tuple[str, str]] = {}
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        m = _SOURCE_ROW.match(line.strip())
        if m and m.group(1) not in ("entry", "---"):
            assert m.group(1) not in rows, f"SOURCES.md lists {m.group(1)} twice"
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def lesson_ids() -> list[str]:
    """Ids of the lesson files."""
    return [
        yaml.safe_load(p.read_text(encoding="utf-8"))["id"]
        for p in sorted((CONTENT / "lessons").glob("*.yaml"))
    ]


def test_every_fact_carries_its_source_and_check_date(faq: list[dict[str, str]]) -> None:
    """Each FAQ entry and lesson has a source and a YYYY-MM-DD check date in SOURCES.md."""
    rows = source_rows()
    wanted = [f"faq:{r['id']}" for r in faq] + [f"lesson:{i}" for i in lesson_ids()]
    wanted += ["areas.yaml", "products.yaml"]
    missing = [w for w in wanted if w not in rows]
    assert not missing, f"no source in content/SOURCES.md for: {missing}"
    bad = [w for w in wanted if len(rows[w][0]) < 10 or not _CHECKED.match(rows[w][1])]
    assert not bad, f"a source of a few words and a checked date (YYYY-MM-DD) needed: {bad}"
    stale = sorted(set(rows) - set(wanted))
    assert not stale, f"SOURCES.md names entries that do not exist: {stale}"


def test_the_sources_check_fails_without_a_row(
    faq: list[dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above really fails when an entry loses its row."""
    trimmed = tmp_path / "SOURCES.md"
    lines = SOURCES.read_text(encoding="utf-8").splitlines()
    trimmed.write_text("\n".join(x for x in lines if f"faq:{faq[0]['id']} " not in x))
    monkeypatch.setattr(sys.modules[__name__], "SOURCES", trimmed)
    with pytest.raises(AssertionError, match=faq[0]["id"]):
        test_every_fact_carries_its_source_and_check_date(faq)


# Corrections to beliefs the old texts held (FACTS.md, checked 12/2026): none may come back.
WRONG_FACTS = [
    (
        re.compile(r"10 triệu (đồng )?(mỗi|một) tháng"),
        "Mobile Money: 100 million a month from 2026",
    ),
    (
        re.compile(r"VietGAP[^.]*\b2 năm\b(?![^.]*(chăn nuôi|thủy sản))"),
        "crop VietGAP lasts up to 3 years",
    ),
    (
        re.compile(r"chỉ dẫn địa lý[^.]*Chi Lăng”?(?! có phải)", re.IGNORECASE),
        "both GIs are named Lạng Sơn",
    ),
    (re.compile(r"Tày|Nùng"), "no Tày/Nùng language is being prepared"),
    (
        re.compile(r"(live|phát trực tiếp)\s+(trên|qua|bằng|từ)\s+(\w+,?\s+)*Zalo", re.IGNORECASE),
        "do not livestream from Zalo",
    ),
    (re.compile(r"\bCCCD\b(?![^.;\n]{0,20}thẻ căn cước)"), "write CCCD hoặc thẻ căn cước"),
    (re.compile(r"gửi khi có sóng", re.IGNORECASE), "no promise the web chat keeps"),
]


def content_texts(faq: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(where, text) of every FAQ answer and lesson text."""
    texts = [(f"faq {r['id']}", r["answer"]) for r in faq]
    for path in sorted((CONTENT / "lessons").glob("*.yaml")):
        lesson = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts.append((path.name, lesson["title"] + "\n" + lesson["summary"]))
        texts.extend((path.name, s["text"]) for s in lesson["steps"])
        texts.append(
            (path.name, lesson["quiz"]["question"] + "\n" + lesson["quiz"]["explanation"])
        )
    return texts


def test_corrected_facts_do_not_come_back(faq: list[dict[str, str]]) -> None:
    bad = [
        (where, why)
        for where, text in content_texts(faq)
        for pattern, why in WRONG_FACTS
        if pattern.search(text)
    ]
    assert not bad, bad


def test_lists_never_run_into_numbered_buttons(faq: list[dict[str, str]]) -> None:
    """A numbered list in an answer or a step reads like the numbered buttons under it."""
    numbered = re.compile(r"(^|\n)\s*\d+[.)]\s|\s\d\)\s")
    bad = [where for where, text in content_texts(faq) if numbered.search(text)]
    assert not bad, f"use line breaks with • or “Bước n:” instead: {bad}"


def test_lessons_name_each_other_and_menu_entries_as_shown(faq: list[dict[str, str]]) -> None:
    """A cross-reference to a lesson uses its real title (“Bài …” in quotes must exist)."""
    titles = {
        yaml.safe_load(p.read_text(encoding="utf-8"))["title"]
        for p in (CONTENT / "lessons").glob("*.yaml")
    }
    named = re.compile(r"bài “([^”]+)”")
    bad = [
        (where, title)
        for where, text in content_texts(faq)
        for title in named.findall(text)
        if title not in titles
    ]
    assert not bad, bad


def test_lessons_and_faq_name_menu_entries_as_the_bot_shows_them(
    faq: list[dict[str, str]],
) -> None:
    """A quoted menu entry (“📝 Đăng bán”) is exactly a label the Vietnamese catalog shows."""
    from babel.messages.pofile import read_po

    shown: set[str] = set()
    for path in (ROOT / "locales" / "vi" / "LC_MESSAGES").glob("*.po"):
        with path.open("rb") as f:
            shown |= {str(m.string) for m in read_po(f) if m.id and m.string}
    entry = re.compile(r"“([^\w“”][^”]*)”")  # quoted, starting with an emoji
    named = [(w, n) for w, t in content_texts(faq) for n in entry.findall(t)]
    assert named, "no menu entry named: the check would test nothing"
    bad = [(where, name) for where, name in named if name not in shown]
    assert not bad, bad
