"""The bot's voice: it calls itself "em" (never "tôi") and says "bà con" only to a crowd."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import yaml
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

ROOT = Path(__file__).resolve().parent.parent
# Button labels speak in the user's own voice ("Tin đăng của tôi"): the only "tôi" allowed.
# A message may name such a button ("ở mục “Đơn của tôi”"), so their text is allowed anywhere.
USER_VOICE_LABELS = {
    "All my communes",
    "All my areas",
    "🎓 My certificate",
    "Yes, it is me: link them",
    "📦 My listings",
    "‹ My listings",
    "🧾 My orders",
    "I grow or make products to sell",
    "I want to buy",
    "Yes, send me guidance",
    "Delete my data",
    "👤 My profile",
}
MANY = "many"  # msgctxt of text that speaks to a crowd: broadcasts, public pages
TOI = re.compile(r"\btôi\b", re.IGNORECASE)
BA_CON = re.compile(r"\bbà con\b", re.IGNORECASE)
_EMOJI_PREFIX = re.compile(r"^[^\wÀ-ỹ]+")


def vi_messages() -> list[tuple[str, str, str | None, str]]:
    """(file, msgid, msgctxt, msgstr) of every Vietnamese entry."""
    found = []
    for path in sorted((LOCALES_DIR / "vi" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            for msg in read_po(f):
                if msg.id and isinstance(msg.id, str) and isinstance(msg.string, str):
                    found.append((path.name, msg.id, msg.context, msg.string))
    return found


def label_texts() -> list[str]:
    """The Vietnamese words of the user-voice labels, without their emoji."""
    texts = [_EMOJI_PREFIX.sub("", s) for _f, i, _c, s in vi_messages() if i in USER_VOICE_LABELS]
    return sorted(texts, key=len, reverse=True)


def without_labels(text: str, labels: list[str]) -> str:
    """The text minus every label it names."""
    for label in labels:
        text = text.replace(label, "")
    return text


def test_the_label_list_is_current() -> None:
    """Every exempt label exists and really says "tôi": a stale list would hide nothing."""
    by_id = {i: s for _f, i, _c, s in vi_messages()}
    for msgid in USER_VOICE_LABELS:
        assert msgid in by_id, msgid
        assert TOI.search(by_id[msgid]), msgid


def test_the_bot_never_says_toi_in_its_own_voice() -> None:
    labels = label_texts()
    bad = [
        (f, i)
        for f, i, _c, s in vi_messages()
        if i not in USER_VOICE_LABELS and TOI.search(without_labels(s, labels))
    ]
    assert not bad, f"'tôi' in the bot's voice (it is 'em' or {{me}}): {bad}"


def test_ba_con_only_in_messages_to_many() -> None:
    bad = [(f, i) for f, i, c, s in vi_messages() if c != MANY and BA_CON.search(s)]
    assert not bad, f"'bà con' said to one person (use {{you}}, or msgctxt 'many'): {bad}"
    assert any(c == MANY for _f, _i, c, _s in vi_messages()), "no message speaks to many"


def test_the_voice_checks_catch_what_they_should() -> None:
    labels = label_texts()
    assert TOI.search(without_labels("Dạ, tôi chưa hiểu số lượng này.", labels))
    assert not TOI.search(without_labels("Xem lại ở mục “Đơn của tôi”.", labels))
    assert BA_CON.search("Bà con tên là gì ạ?") and not BA_CON.search("bà còn khỏe")


def bot_voice_content() -> list[tuple[str, str]]:
    """(where, text) of the seed FAQ answers and every lesson text the bot says."""
    texts = []
    with (ROOT / "content" / "faq.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            texts.append((f"faq {row['id']}", row["answer"]))
    for path in sorted((ROOT / "content" / "lessons").glob("*.yaml")):
        lesson = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts.append((path.name, lesson["summary"]))
        texts.extend((path.name, step["text"]) for step in lesson["steps"])
        quiz = lesson["quiz"]
        texts.extend((path.name, t) for t in (quiz["question"], quiz["explanation"]))
    return texts


def test_faq_answers_and_lessons_speak_to_one_person_as_em() -> None:
    """Seed answers and lessons are read by one person: no "bà con", no "tôi" from the bot."""
    quoted = re.compile(r"“[^”]*”")  # a button's name, or a sample in the farmer's own words
    bad = [w for w, t in bot_voice_content() if BA_CON.search(t) or TOI.search(quoted.sub("", t))]
    assert not bad, bad


def test_messages_to_many_keep_their_context_through_the_merged_catalog() -> None:
    """pgettext("many", …) finds its entry after all domains are merged into one catalog."""
    from bot.i18n import load_catalogs, pgettext, use_locale

    load_catalogs()
    header = "📢 <b>Notice from the digital-tech team</b>"
    with use_locale("vi"):
        assert "bà con" in pgettext(MANY, header)
    with use_locale("en"):
        assert pgettext(MANY, header) == header


def test_one_spelling_of_huy_and_xoa() -> None:
    """“Hủy”, “Xóa” everywhere, never the older “Huỷ”, “Xoá” beside them."""
    old = re.compile(r"\b(huỷ|xoá)\b", re.IGNORECASE)
    bad = [(f, i) for f, i, _c, s in vi_messages() if old.search(s)]
    bad += [w for w, t in bot_voice_content() if old.search(t)]
    assert not bad, bad


def test_one_name_for_the_assistant() -> None:
    """The assistant is “Nông Dân Số” / “trợ lý”, never “bot”, in what it says."""
    bot = re.compile(r"\bbot\b", re.IGNORECASE)
    bad = [(f, i) for f, i, _c, s in vi_messages() if bot.search(s)]
    bad += [w for w, t in bot_voice_content() if bot.search(t)]
    assert not bad, bad


def test_menu_entries_have_distinct_emoji() -> None:
    """Two menu lines with the same picture are two things a farmer cannot tell apart."""
    from handlers import build_flows

    labels = [f.menu.label for f in build_flows() if f.menu is not None]
    marks = [label.split(" ", 1)[0] for label in labels if not label[0].isalnum()]
    assert len(marks) == len(set(marks)), labels
