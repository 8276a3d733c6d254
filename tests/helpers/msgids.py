"""Assert on what a user was told by its message id (msgid), not by one translation's words.

`said(text, "Saved.")` holds when `text` shows the current translation of that msgid, its
`{placeholders}` matching anything (or the values given). A wording fix in a catalog then
changes no test; tests of the Vietnamese text itself assert the sentences directly.
"""

from __future__ import annotations

import html
import re
import string
from functools import cache
from typing import Any

from bot.core.fmt import to_plain
from bot.i18n import DEFAULT_LOCALE, _catalogs, load_catalogs

_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")


def _known(msgid: str, lang: str) -> str:
    """The translation of `msgid`; an unknown msgid fails the test (no silent typo)."""
    if not _catalogs:
        load_catalogs()
    catalog = _catalogs[lang]
    messages: dict[Any, str] = getattr(catalog, "_catalog", {})
    if msgid not in messages:
        raise AssertionError(f"{msgid!r} is not a msgid of the {lang!r} catalogs")
    return messages[msgid] or msgid


@cache
def _fields(template: str) -> tuple[tuple[str, str | None, str], ...]:
    return tuple(
        (lit, name, spec or "") for lit, name, spec, _c in string.Formatter().parse(template)
    )


def _literal(text: str) -> str:
    """A template's literal words as a pattern; any run of white space matches any other."""
    words = _SPACES.split(html.unescape(text))
    return r"\s+".join(re.escape(w) for w in words)


def pattern(msgid: str, lang: str = DEFAULT_LOCALE, **values: Any) -> re.Pattern[str]:
    """What the translation of `msgid` looks like once shown, as a regular expression."""
    parts: list[str] = []
    shown = _TAG.sub("", _known(msgid, lang)).strip()  # tags (and their links) are not shown
    for lit, name, spec in _fields(shown):
        parts.append(_literal(lit))
        if name is None:
            continue
        if name in values:
            parts.append(_literal(format(values[name], spec)))
        else:
            parts.append(r"(?s:.*?)")
    return re.compile("".join(parts))


def said(text: str, msgid: str, lang: str = DEFAULT_LOCALE, **values: Any) -> bool:
    """Whether `text` (HTML or plain) shows the message `msgid` in `lang`."""
    return pattern(msgid, lang, **values).search(to_plain(text)) is not None


def assert_said(text: str, msgid: str, lang: str = DEFAULT_LOCALE, **values: Any) -> None:
    """Fail, showing what was said, unless `text` shows the message `msgid`."""
    assert said(text, msgid, lang, **values), f"expected {msgid!r} ({lang}) in:\n{text}"


# Questions many tests look for, by msgid: registration (handlers/onboarding.py) and selling.
WELCOME = (
    "Dạ, xin chào! I am <b>Nông Dân Số</b>, the digital assistant of Lạng Sơn's community "
    "digital-tech teams. I help you put your produce on sale, handle orders, learn to sell "
    "online safely, and answer your questions.\n\nFirst, a few short questions so I can help "
    "you better."
)
ASK_NAME = "What is your name?"
ASK_HOW_TO_CALL = (
    "How would you like me to call you, {name}? You can change it later in your profile."
)
ASK_PHONE_TYPED = (  # where no "share my phone" button exists (web chat, Zalo)
    "What is your phone number? Buyers and the team use it to reach you.\n"
    "Please type it, e.g. 0912 345 678."
)
ASK_AREA = "Which commune or ward do you live in? Type its name, e.g. Chi Lăng or chi lang."
ASK_PRODUCT = "What are you selling? Tap a product, or type its name (e.g. <i>na chi lang</i>)."
PHOTO_RECEIVED = "Photo {count} of at most {max} received. Send another, or tap Done."
ASK_QUANTITY = (
    "How much do you have for sale? Type the amount and unit, e.g. <i>200 kg</i>, <i>2 tạ</i>, "
    "<i>50 hộp</i>."
)
ASK_AVAILABILITY = (
    "When is it available? Tap <b>Available now</b>, or type e.g. <i>tháng 8–9</i>, <i>từ 15/8 "
    "đến 30/9</i>."
)
KG_OR_UNIT = (  # a price far from the usual one is asked about, not taken
    "{price} one kg or one {unit}? (One {unit} for {price} would be {per_kg} a kg, far from the "
    "usual price.)"
)
RESUME_AT_STEP = "▶️ Continue: {form} (step {n}/{total})"
RESUME = "▶️ Continue: {form}"
ASK_PHONE_SHARED = (  # where a "share my phone" button exists (Telegram)
    "What is your phone number? Buyers and the team use it to reach you.\n"
    "Tap <b>Share my phone number</b> below, or type it (e.g. 0912 345 678)."
)
MAIN_MENU = "<b>Main menu</b>\n{You_name}, what would you like to do?"
