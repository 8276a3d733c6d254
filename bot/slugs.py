"""Short public codes of listings: random, easy to type and to read aloud ("7K3QX").

The same slug makes the page URL (/p/7K3QX), the Telegram start payload (p_7K3QX) and the
code typed on any channel ("MUA 7K3QX"). No 0/O, 1/I/L or U: a farmer copying a code from a
printed sticker cannot confuse them. Every slug holds a digit and a letter, and never reads
as an amount ("25KGS"), so a typed "mua thach" or "mua 25kgs" is never taken for a code.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 5
START_PREFIX = "p_"  # Telegram/web start payload of a listing: "p_7K3QX"
CODE_WORD = "MUA"  # what a buyer types before the code: "MUA 7K3QX"
_SLUG = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}")
_AMOUNT = re.compile(r"[0-9]+[A-Z]+")
# "mua 7k3qx", "MUA: 7K3QX", "mua #7k3qx" (folded text: no diacritics, lower case)
_TYPED = re.compile(rf"mua\s*[:#-]?\s*#?([a-z0-9]{{{LENGTH}}})")


def is_slug(text: str) -> bool:
    """Whether `text` is a well-formed slug (upper case)."""
    return (
        bool(_SLUG.fullmatch(text))
        and not text.isalpha()
        and not text.isdigit()
        and not _AMOUNT.fullmatch(text)
    )


def new_slug(taken: Callable[[str], bool]) -> str:
    """A fresh random slug that `taken` says is not in use."""
    while True:
        slug = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if is_slug(slug) and not taken(slug):
            return slug


def from_start(args: str) -> str:
    """The slug in a start payload ("p_7K3QX"), or ""."""
    if not args.startswith(START_PREFIX):
        return ""
    slug = args[len(START_PREFIX) :].strip().upper()
    return slug if is_slug(slug) else ""


def from_typed(folded: str) -> str:
    """The slug in a typed code (folded text, e.g. "mua 7k3qx"), or ""."""
    found = _TYPED.fullmatch(folded.strip())
    if found is None:
        return ""
    slug = found.group(1).upper()
    return slug if is_slug(slug) else ""
