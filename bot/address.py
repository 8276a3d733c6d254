"""How the bot addresses one person: the term they chose (chị, bác, em…) and their given name.

The one place that turns a user into the fill-ins a translated message uses: `{you}`/`{You}`
(the term), `{you_name}`/`{You_name}` (term and given name: "chị Hoa"), `{me}`/`{Me}` (the
bot: "em", or "mình" to someone who asked to be called "em"). `bot.i18n` fills them in every
message at send time for the person being spoken to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.text import fold

if TYPE_CHECKING:
    from bot.services.users import User

# The terms offered at onboarding, in the order shown; stored as these ASCII keys.
TERMS: dict[str, str] = {
    "ong": "ông",
    "ba": "bà",
    "bac": "bác",
    "anh": "anh",
    "chi": "chị",
    "co": "cô",
    "chu": "chú",
    "em": "em",
}
# Before the person has said (or for a stranger): polite to either sex.
UNKNOWN_TERM = "anh/chị"
# Terms that tell a formal title (Ông / Bà) for documents such as the lesson certificate.
_MALE = frozenset({"ong", "anh", "chu"})
_FEMALE = frozenset({"ba", "chi", "co"})
# Fill-in names a catalog may use; anything else in braces is a message's own placeholder.
TOKENS = ("you", "You", "you_name", "You_name", "me", "Me")
TOKEN_RE = re.compile(r"\{(" + "|".join(TOKENS) + r")\}")
_BRACES = re.compile(r"[{}<>&]")


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def given_name(full_name: str) -> str:
    """The name people are called by: the last word of a Vietnamese name, capitalised."""
    words = _BRACES.sub("", full_name).split()
    return _cap(words[-1].lower()) if words else ""


def title_name(full_name: str) -> str:
    """A full name with each word capitalised, for a document: "Nguyễn Thị Hoa"."""
    return " ".join(_cap(w.lower()) for w in full_name.split())


def suggest_term(full_name: str) -> str:
    """A default term from the name: a middle name "Thị" suggests chị, "Văn" anh; else ""."""
    words = fold(full_name).split()
    middle = words[1:-1] if len(words) > 2 else words[:-1]
    if "thi" in middle:
        return "chi"
    if "van" in middle:
        return "anh"
    return ""


@dataclass(frozen=True)
class Address:
    """Who is being spoken to: the chosen term key ("" = not chosen) and the given name."""

    term: str = ""
    given: str = ""

    def word(self) -> str:
        """The term as said mid-sentence: "chị", or "anh/chị" when unknown."""
        return TERMS.get(self.term, UNKNOWN_TERM)

    def fill(self, lang: str) -> dict[str, str]:
        """The fill-ins for a message in `lang` (names already safe for reply HTML)."""
        if lang != "vi":
            name = self.given or "you"
            return {
                "you": "you",
                "You": "You",
                "you_name": name,
                "You_name": _cap(name),
                "me": "I",
                "Me": "I",
            }
        term = self.word()
        named = f"{term} {self.given}" if self.given else term
        me = "mình" if self.term == "em" else "em"
        return {
            "you": term,
            "You": _cap(term),
            "you_name": named,
            "You_name": _cap(named),
            "me": me,
            "Me": _cap(me),
        }


NOBODY = Address()


def address_of(user: User) -> Address:
    """How to speak to this user: their chosen term, or one guessed from the name for now."""
    term = user.address if user.address in TERMS else suggest_term(user.name)
    return Address(term, given_name(user.name))


def formal_title(user: User) -> str:
    """ "m" (Ông) or "f" (Bà) for a formal document, from the chosen term or the name; else ""."""
    term = user.address if user.address in TERMS else ""
    if term not in _MALE | _FEMALE:
        term = suggest_term(user.name) or term
    if term in _MALE:
        return "m"
    if term in _FEMALE:
        return "f"
    return ""


def fill_tokens(text: str, values: dict[str, str]) -> str:
    """Replace the address tokens in a translated message, leaving its own placeholders."""
    if "{" not in text:
        return text
    return TOKEN_RE.sub(lambda m: values[m.group(1)], text)
