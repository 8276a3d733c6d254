"""Gettext catalogs (English msgids; Vietnamese default) and Vietnamese number/price/date formatting.

Catalogs live in locales/<lang>/LC_MESSAGES/<domain>.po, one domain per feature so features
can be translated independently; all domains of a language are merged into one catalog.
The locale of the update being handled is a ContextVar, set once per update by the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from bot.address import NOBODY, Address, fill_tokens

LOCALES: tuple[str, ...] = ("vi", "en")
DEFAULT_LOCALE = "vi"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
# No CLDR data exists for Tày or Nùng: numbers and dates always use Vietnamese conventions.
FORMAT_LOCALE = "vi_VN"
# Vietnam's clock (UTC+7 all year, no daylight saving): what users read and type.
VN_TZ = timezone(timedelta(hours=7))

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)
# The one person being spoken to: fills {you}, {You_name}, {me}... in every message.
_addressee: ContextVar[Address] = ContextVar("addressee", default=NOBODY)
_catalogs: dict[str, NullTranslations] = {}


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Compile every .po newer than its .mo; return the .mo files written."""
    written = []
    for po_path in sorted(locales_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


def load_catalogs(locales_dir: Path = LOCALES_DIR) -> dict[str, NullTranslations]:
    """Load and merge all domains of each locale; compiles stale catalogs first."""
    compile_catalogs(locales_dir)
    loaded: dict[str, NullTranslations] = {}
    for lang in LOCALES:
        merged: NullTranslations | None = None
        for mo_path in sorted((locales_dir / lang / "LC_MESSAGES").glob("*.mo")):
            with mo_path.open("rb") as f:
                part = Translations(fp=f, domain=mo_path.stem)
            if isinstance(merged, Translations):
                merged.merge(part)
            else:
                merged = part
        loaded[lang] = merged or NullTranslations()
    _catalogs.clear()
    _catalogs.update(loaded)
    return loaded


def _catalog() -> NullTranslations:
    if not _catalogs:
        load_catalogs()
    return _catalogs.get(_current.get()) or _catalogs[DEFAULT_LOCALE]


def _(message: str) -> str:
    """Translate a message into the current user's language, speaking to them as they chose."""
    return fill_tokens(_catalog().gettext(message), _addressee.get().fill(_current.get()))


def pgettext(context: str, message: str) -> str:
    """Translate a message with a context; "many" marks text that speaks to a crowd."""
    text = str(_catalog().pgettext(context, message))
    return fill_tokens(text, _addressee.get().fill(_current.get()))


def N_(message: str) -> str:
    """Mark a message for extraction; translate it later with _()."""
    return message


def current_locale() -> str:
    """The language of the update being handled."""
    return _current.get()


def set_locale(lang: str) -> None:
    """Set the language for the rest of this task (one update)."""
    _current.set(lang if lang in LOCALES else DEFAULT_LOCALE)


def set_addressee(address: Address) -> None:
    """Speak to this person for the rest of this task (one update)."""
    _addressee.set(address)


@contextmanager
def use_locale(lang: str, to: Address | None = None) -> Iterator[None]:
    """Temporarily speak `lang` (to `to`), e.g. to notify another user in their own language."""
    token = _current.set(lang if lang in LOCALES else DEFAULT_LOCALE)
    person = _addressee.set(to or NOBODY)
    try:
        yield
    finally:
        _addressee.reset(person)
        _current.reset(token)


def format_vnd(amount: int | Decimal) -> str:
    """45000 -> '45.000 ₫' (with a no-break space, as babel gives it)."""
    return format_currency(amount, "VND", locale=FORMAT_LOCALE)


def format_number(value: int | float | Decimal) -> str:
    """1234.5 -> '1.234,5'."""
    return format_decimal(value, locale=FORMAT_LOCALE)


def local_time(value: datetime) -> datetime:
    """An aware moment on Vietnam's clock (naive values are taken as already local)."""
    return value.astimezone(VN_TZ) if value.tzinfo else value


def format_day(value: date | datetime) -> str:
    """A date as Vietnamese people write it, on Vietnam's clock: 29/11/2026."""
    if isinstance(value, datetime):
        value = local_time(value)
    return _babel_date(value, "dd/MM/yyyy", locale=FORMAT_LOCALE)


def format_moment(value: datetime) -> str:
    """A date and time on Vietnam's clock: 14:05 29/11/2026."""
    return _babel_datetime(local_time(value), "HH:mm dd/MM/yyyy", locale=FORMAT_LOCALE)
