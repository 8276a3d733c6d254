"""Developer tool: extract messages from the code into per-domain catalogs and report gaps.

`python -m bot i18n` updates locales/{vi,en}/LC_MESSAGES/<domain>.po: new msgids are added
(English filled in, Vietnamese left empty for a translator), msgids no longer used are dropped,
existing translations kept. The domain of a source file is its feature: handlers/<x>.py and
bot/services/<x>.py -> <x>; everything else in bot/ -> core.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES, LOCALES_DIR

ROOT = LOCALES_DIR.parent
KEYWORDS: dict[str, tuple[int | tuple[int, str], ...] | None] = {
    "_": None,
    "N_": None,
    "pgettext": ((1, "c"), 2),
}
# How a message with a context is keyed in extract()'s result (gettext's own separator).
CONTEXT_SEP = "\x04"


def message_key(msgid: str, context: str | None) -> str:
    """A msgid, prefixed by its context when it has one: "many\x04Hello"."""
    return f"{context}{CONTEXT_SEP}{msgid}" if context else msgid


def split_key(key: str) -> tuple[str, str | None]:
    """(msgid, context) of a message_key()."""
    context, sep, msgid = key.rpartition(CONTEXT_SEP)
    return (msgid, context) if sep else (key, None)


def domain_of(path: Path) -> str:
    """The catalog domain a source file's messages belong to."""
    rel = path.relative_to(ROOT)
    if rel.parts[:3] == ("bot", "web", "console"):
        return "console"  # the web console's pages share the /console command's catalog
    if rel.parts[0] == "handlers" or rel.parts[:2] == ("bot", "services"):
        return path.stem if path.stem != "__init__" else "core"
    return "core"


def extract() -> dict[str, dict[str, list[tuple[str, int]]]]:
    """Every msgid in the code, grouped by domain, with where it is used."""
    found: dict[str, dict[str, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
    for base in ("bot", "handlers"):
        for path in sorted((ROOT / base).rglob("*.py")):
            for lineno, message, _comments, context in extract_from_file(
                "python",
                str(path),
                keywords=KEYWORDS,
            ):
                if isinstance(message, str) and message:
                    rel = str(path.relative_to(ROOT))
                    found[domain_of(path)][message_key(message, context)].append((rel, lineno))
    return found


def _read(path: Path, lang: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang)
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def update_catalogs(only: str = "") -> dict[str, list[str]]:
    """Bring the domains' .po files (or just `only`'s) in line with the code; list vi gaps."""
    missing: dict[str, list[str]] = {}
    for domain, messages in sorted(extract().items()):
        if only and domain != only:
            continue
        for lang in LOCALES:
            path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
            path.parent.mkdir(parents=True, exist_ok=True)
            old = _read(path, lang)
            new = Catalog(locale=lang, project="nongdanso", domain=domain)
            for key, locations in messages.items():
                msgid, context = split_key(key)
                prior = old.get(msgid, context=context)
                text = prior.string if prior is not None and prior.string else ""
                if lang == "en" and not text:
                    text = msgid
                new.add(msgid, text, locations=locations, context=context)
                if lang == "vi" and not text:
                    missing.setdefault(domain, []).append(key)
            with path.open("wb") as f:
                write_po(f, new, width=99, omit_header=False, sort_output=False)
    return missing


def untranslated(lang: str = "vi") -> list[str]:
    """Messages used in the code with no (or a fuzzy) translation in `lang`."""
    merged: dict[str, tuple[str, bool]] = {}
    for path in (LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po"):
        for msg in _read(path, lang):
            if msg.id and isinstance(msg.id, str) and isinstance(msg.string, str):
                good = bool(msg.string) and not msg.fuzzy
                key = message_key(msg.id, msg.context)
                if good or key not in merged:
                    merged[key] = (msg.string, good)
    gaps = []
    for messages in extract().values():
        for msgid in messages:
            if msgid not in merged or not merged[msgid][1]:
                gaps.append(msgid)
    return sorted(set(gaps))
