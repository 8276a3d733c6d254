"""Catalogs: Vietnamese complete, compiled, really loaded; Vietnamese formatting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.support import Translations

from bot.i18n import _, format_day, format_number, format_vnd, load_catalogs, use_locale
from bot.i18n_tools import extract, untranslated


def test_every_message_in_the_code_has_a_vietnamese_translation() -> None:
    assert untranslated("vi") == []


def test_every_message_in_the_code_has_an_english_entry() -> None:
    assert untranslated("en") == []


def test_catalogs_are_real_translations_not_the_silent_null_fallback() -> None:
    catalogs = load_catalogs()
    assert isinstance(catalogs["vi"], Translations)
    assert isinstance(catalogs["en"], Translations)
    with use_locale("vi"):
        assert _("Main menu") == "Menu chính"
    with use_locale("en"):
        assert _("Main menu") == "Main menu"


def test_placeholders_survive_translation() -> None:
    """A translation must keep the {placeholders} of its msgid, or formatting breaks."""
    import re

    from babel.messages.pofile import read_po

    from bot.address import TOKENS
    from bot.i18n import LOCALES_DIR

    names = re.compile(r"\{(\w*)\}")
    for path in (LOCALES_DIR / "vi" / "LC_MESSAGES").glob("*.po"):
        with path.open("rb") as f:
            for msg in read_po(f):
                if msg.id and isinstance(msg.id, str) and msg.string:
                    # The address fill-ins ({you}, {me}...) are the translation's own choice.
                    own = [n for n in names.findall(str(msg.string)) if n not in TOKENS]
                    wanted = [n for n in names.findall(msg.id) if n not in TOKENS]
                    assert sorted(wanted) == sorted(own), f"{path.name}: {msg.id!r}"


def test_extraction_finds_messages_of_the_foundation() -> None:
    found = extract()
    assert "What is your name?" in found["onboarding"]
    assert "Main menu" in found["core"]


def test_vietnamese_formatting() -> None:
    assert format_vnd(45000) == "45.000\xa0₫"
    assert format_vnd(1_200_000) == "1.200.000\xa0₫"
    assert format_number(Decimal("1234.5")) == "1.234,5"
    assert format_day(date(2026, 11, 29)) == "29/11/2026"


def test_dates_are_shown_on_vietnam_clock() -> None:
    from datetime import UTC, datetime

    from bot.i18n import format_moment

    late_evening_utc = datetime(2026, 11, 29, 18, 30, tzinfo=UTC)  # 01:30 on the 30th in Hà Nội
    assert format_day(late_evening_utc) == "30/11/2026"
    assert format_moment(late_evening_utc) == "01:30 30/11/2026"


def test_a_message_has_one_translation_across_domains() -> None:
    """All domains merge into one catalog: two translations of one msgid would fight."""
    from babel.messages.pofile import read_po

    from bot.i18n import LOCALES_DIR

    found: dict[str, dict[str, list[str]]] = {}
    for path in sorted((LOCALES_DIR / "vi" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            for msg in read_po(f):
                if msg.id and isinstance(msg.id, str) and msg.string:
                    found.setdefault(msg.id, {}).setdefault(str(msg.string), []).append(path.stem)
    conflicts = {msgid: ways for msgid, ways in found.items() if len(ways) > 1}
    assert conflicts == {}


def test_no_message_hides_inside_an_f_string() -> None:
    """Babel cannot extract _("...") written inside an f-string: it would stay untranslated."""
    import re

    from bot.i18n import LOCALES_DIR

    hidden = re.compile(r"""\bf(["']).*\{N?_\(["']""")
    offenders = [
        f"{path}:{n}"
        for base in ("bot", "handlers")
        for path in sorted((LOCALES_DIR.parent / base).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if hidden.search(line)
    ]
    assert offenders == []
