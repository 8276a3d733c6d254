"""What a typed text says about itself, before any step is asked: how much it reads as a
question, whether it is nothing but a command, whether it is small talk.

Vocabulary as farmers type it (WORDS.md): folded, abbreviations expanded by the lexicon in
bot/text.py. Used by the router (bot/core/router.py).
"""

from __future__ import annotations

import re

from bot.text import fold, lexical

# --- question markers ---------------------------------------------------------------------

# Anywhere in the text (folded, abbreviations expanded); weights chosen on the train split.
_MARKERS: dict[str, float] = {
    "bao nhieu": 1.0,
    "bao gio": 1.0,
    "khi nao": 1.0,
    "luc nao": 1.0,
    "the nao": 1.0,
    "nhu nao": 1.0,
    "lam sao": 1.0,
    "ra sao": 1.0,
    "tai sao": 1.0,
    "vi sao": 1.0,
    "o dau": 1.0,
    "la gi": 1.0,
    "cai gi": 1.0,
    "nhung gi": 1.0,
    "cach nao": 1.0,
    "duoc khong": 1.0,
    "co phai": 0.6,
    "phai khong": 1.0,
    "co nen": 0.8,
    "nen ban": 0.5,
    "la sao": 1.0,
    "thi sao": 1.0,
    "xin o dau": 1.0,
    "lam gi": 0.8,
    "lam j": 0.8,
    "cho hoi": 0.6,
    "xin hoi": 0.6,
    "cho em hoi": 0.6,
    "may kg": 0.8,
    "thang may": 0.8,
    "ngay nao": 1.0,
    "la ai": 1.0,
    "co can": 0.5,
    "khac nhau": 0.6,
    "khac gi": 1.0,
    "bao lau": 1.0,
    "may ngay": 1.0,
    "tot hon": 0.6,
    "nen chon": 0.8,
    "cho nao": 0.8,
    "gi": 0.8,
    "sao": 0.6,
    "nao": 0.5,
    "ai": 0.5,
}
# Sentence-final particles that ask ("… không?", "… chưa?", "… vậy?", "… hả?").
_FINAL = {"khong": 0.7, "chua": 0.5, "vay": 0.6, "nhi": 0.6, "ha": 0.6, "dau": 0.8, "the": 0.4}
_MARKER_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _MARKERS), key=len, reverse=True)) + r")\b"
)
# Whom a text is said to, after its question particle: "… không ad", "… không em ơi".
_VOCATIVES = frozenset({"ad", "admin", "em", "ban", "chi", "anh", "bac", "oi", "a", "ah", "nhe"})
# Politeness around a text that carries no intent of its own.
_OPENERS = re.compile(r"^(?:(?:ban|em|ad|admin|chi|anh|bac) oi|chao (?:em|ban|ad)|alo)\s+")


def question_score(text: str) -> float:
    """How much a text reads as a question (0 none, 1 or more: surely one)."""
    lex = _OPENERS.sub("", lexical(text))
    words = lex.split()
    score = 1.0 if "?" in text else 0.0
    for m in _MARKER_RE.finditer(lex):
        marker = m.group(1)
        before = lex[: m.start()].split()
        if marker == "sao" and before and before[-1].isdigit():
            continue  # "ocop 4 sao": stars
        if marker == "nao" and before and before[-1] in ("khong", "chua"):
            continue  # "không nào": not asking
        if marker == "gi" and words and words[0] in ("khong", "chua"):
            continue  # "không có chứng nhận gì": none at all, not a question
        score += _MARKERS[marker]
    while len(words) > 2 and words[-1] in _VOCATIVES:
        words = words[:-1]  # "… có bị lừa không ad", "… được không em ơi"
    if len(words) >= 2:
        score += _FINAL.get(words[-1], 0.0)
        if words[-1] == "khong" and "co" in words[:-1]:
            score += 0.5  # có … không
    return round(score, 2)


# --- commands that cover the whole text ---------------------------------------------------

_EDIT = ("sua", "doi", "thay doi", "thay", "cap nhat", "chinh sua", "chinh", "nhap lai")
_COMMANDS: dict[str, tuple[str, ...]] = {
    "listings/product": (
        "dang ban",
        "ban hang",
        "dang tin",
        "dang tin ban",
        "dang ban hang",
        "dang tin ban hang",
        "dang san pham",
        "ban san pham",
        "dang ban san pham",
    ),
    "orders/home": (
        "don hang",
        "don",
        "don hang moi",
        "don moi",
        "danh sach don hang",
        "danh sach don",
        "don ban",
        "quan ly don hang",
    ),
    "buy/find": ("mua", "mua hang", "tim mua", "tim mua hang", "tim hang", "mua san pham"),
    "faq/ask": ("hoi", "hoi dap", "cau hoi", "hoi cai", "hoi chut", "dat cau hoi", "hoi ti"),
    "lessons/list": ("hoc", "bai hoc", "hoc ky nang so", "ky nang so", "bai hoc ky nang so"),
    "profile/view": ("ho so", "thong tin ca nhan", "ho so ca nhan", "xem ho so"),
    "onboarding/phone": tuple(
        f"{v} {o}" for v in _EDIT for o in ("so dien thoai", "dien thoai", "so")
    ),
    "onboarding/name": tuple(f"{v} {o}" for v in _EDIT for o in ("ten", "ho ten")),
    "onboarding/area": tuple(f"{v} {o}" for v in _EDIT for o in ("xa", "dia chi", "noi o")),
    "profile/language": ("ngon ngu", *(f"{v} ngon ngu" for v in _EDIT)),
    "profile/delete": ("xoa du lieu", "xoa tai khoan", "xoa thong tin", "xoa het du lieu"),
    "broadcast/off": (
        "tat thong bao",
        "khong nhan thong bao",
        "ngung nhan thong bao",
        "ngung thong bao",
        "khong muon nhan thong bao",
    ),
    "broadcast/on": ("bat thong bao", "nhan thong bao", "bat lai thong bao"),
    "mylistings/list": (
        "tin dang",
        "tin dang cua toi",
        "sua tin dang",
        "sua tin",
        "xoa tin dang",
        "quan ly tin dang",
        "tin cua toi",
    ),
    "onboarding/address": tuple(
        f"{v} {o}" for v in _EDIT for o in ("cach xung ho", "xung ho", "cach goi", "cach goi ten")
    ),
    "myorders/list": ("don mua", "don da mua", "don toi da mua", "hang da mua"),
    "order_out/listing": ("ghi don", "them don", "ghi don ngoai"),
}
# "học bán hàng online", "học đăng bán trên mạng": the lessons, whatever skill is named.
_LESSON_WORDS = frozenset(
    ["hoc", "ban", "hang", "online", "dang", "tren", "mang", "ky", "nang", "so", "cach", "bai"]
)
# Words around a command that change nothing: who asks, "muốn", "xem", "ở đâu", "làm sao để".
_AROUND_COMMAND = frozenset(
    [
        "toi",
        "thi",
        "em",
        "minh",
        "chi",
        "anh",
        "bac",
        "tui",
        "cho",
        "muon",
        "can",
        "xem",
        "kiem",
        "tra",
        "o",
        "dau",
        "di",
        "voi",
        "nhe",
        "nha",
        "a",
        "oi",
        "vay",
        "cua",
        "cac",
        "nhung",
        "de",
        "lam",
        "sao",
        "the",
        "nao",
        "nhu",
        "giup",
        "co",
        "nao",
        "khong",
        "da",
        "roi",
        "nua",
        "admin",
    ]
)
_COMMAND_OF = {p: target for target, phrases in _COMMANDS.items() for p in phrases}


# "tôi đã bán hết hàng rồi", "na hết hàng rồi": said at the menu, the farmer's listings (to
# mark one sold out). Inside a form it is an answer ("why cancel?" → "bán hết hàng").
_SOLD_OUT = re.compile(r"\b(?:ban het|het hang)\b")
SOLD_OUT_WORDS = 6  # at most this many words besides the ones around a command


def command_target(text: str, *, in_form: bool = False) -> str:
    """The flow/state a text asks to open when it is nothing but that command, or "".

    `in_form`: asked at a step of a form, where what is only a report ("hết hàng") is an
    answer, not a command."""
    lex = _OPENERS.sub("", lexical(text))
    words = lex.split()
    if not words:
        return ""
    if "khong" in words[:-1] and not any(p in lex for p in _COMMANDS["broadcast/off"]):
        # A negation inside ("sao tôi không đăng bán được") is a complaint, not a command;
        # "không nhận thông báo" is the one command said with one.
        return ""
    if any(f" {p} " in f" {lex} " for p in _COMMANDS["broadcast/off"]):
        return "broadcast/off"  # before "nhận thông báo" is read without its "không"
    exact = _COMMAND_OF.get(lex)
    if exact:
        return exact
    kept = [w for w in words if w not in _AROUND_COMMAND]
    core = " ".join(kept)
    if core in _COMMAND_OF:
        return _COMMAND_OF[core]
    if kept and kept[0] == "hoc" and set(kept) <= _LESSON_WORDS:
        return "lessons/list"
    sold_out = _SOLD_OUT.search(core) and len(kept) <= SOLD_OUT_WORDS
    if sold_out and not in_form and question_score(text) < 0.5:
        return "mylistings/list"
    return ""


# --- small talk ---------------------------------------------------------------------------

# Words that are small talk by themselves; the rest of CHAT_WORDS (bà, anh, chị, con…) are
# also names and pronouns: a text made only of those may be a name typed at a name question.
_CHATTY = frozenset(
    {
        "chao",
        "hi",
        "hello",
        "alo",
        "helo",
        "hey",
        "cam",
        "on",
        "camon",
        "thanks",
        "thank",
        "tks",
        "ok",
        "u",
        "uh",
        "um",
        "hihi",
        "haha",
        "hehe",
        "hic",
        "vang",
    }
)

# Small talk, and words that are also names and pronouns (see _CHATTY above).
CHAT_WORDS = _CHATTY | frozenset(
    {
        "xin",
        "you",
        "em",
        "ban",
        "bot",
        "oi",
        "a",
        "ah",
        "nhe",
        "nha",
        "oke",
        "okie",
        "okay",
        "tot",
        "qua",
        "duoc",
        "roi",
        "nhieu",
        "lam",
        "the",
        "ha",
        "nhi",
        "chi",
        "anh",
        "bac",
        "chu",
        "ong",
        "ba",
        "con",
        "da",
        "admin",
        "ad",
        "dc",
    }
)


def is_chat(text: str, *, strict: bool = False) -> bool:
    """Small talk, or a sticker typed as text (emoji, ":))", "???").

    `strict`: at a question that stores text, only texts with a word of small talk itself.
    """
    words = fold(text).split()
    if not any(ch.isalnum() for ch in text):
        return True  # only emoji or punctuation
    if not words or not all(w in CHAT_WORDS for w in words):
        return False
    return not strict or any(w in _CHATTY for w in words)
