"""One router for free text, at the main menu and at every step of every flow.

For each typed text it decides: an answer to the pending question (`step`), a menu action
(`menu`), a one-sentence request with its details (`request`), a question for the FAQ
(`faq`, which also hands over what the FAQ cannot answer), small talk (`chat`) or leaving
the form (`cancel`). Its signals, none of them decisive alone (see docs in WORDS.md):

- how the text fits the pending step: its own choices first, then its parser (amount,
  price, phone), then the lexicon's shared words (skip, yes, no, done, back, share);
- question markers as farmers type them (gì/j, sao, nào, đâu, bao nhiêu/bn, có … không, ?);
- commands that cover the whole text ("xem đơn hàng", "sửa số điện thoại"): doing beats
  explaining, but a flow word inside a longer question never opens a flow;
- a sale, a purchase or an order code with its details;
- the FAQ matcher's score, for long texts at steps that store what is typed.

Pure: it reads the text and a `Step` and returns a `Decision`; bot/core/routing.py acts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from rapidfuzz import fuzz

from bot.core.flow import Choice
from bot.core.signals import command_target, is_chat, question_score
from bot.core.slots import (
    Request,
    form_details,
    order_request,
    share_request,
    trade_request,
)
from bot.text import expand_abbreviations, fold, lexical, meaning, parse_price, parse_quantity

STEP, MENU, REQUEST, FAQ, CHAT, CANCEL = "step", "menu", "request", "faq", "chat", "cancel"
QUESTION = 0.5  # a question-marker score at or above this makes a text a question
FAQ_LONG = 6  # words: longer than a value is, at steps that store the text as typed
FAQ_SURE = 0.35  # a matcher score that makes such a long text a question
MAX_TEXT = 600  # characters read to decide (pastes can be long; Telegram allows 4,096)
NEAR = 85  # how alike (0-100) a mistyped choice must be to its label or one of its words

# Step kinds. "free" steps take any text as their answer (only cancel and menu words apply).
FREE, TEXT, CHOICE, QUANTITY, PRICE, PHONE, AREA = (
    "free",
    "text",
    "choice",
    "quantity",
    "price",
    "phone",
    "area",
)
STEP_KINDS: dict[str, str] = {
    # Free text by nature: a question typed there is the content.
    "listings/description": FREE,
    "broadcast/*": FREE,
    "broadcast/off": CHOICE,  # after "tắt thông báo": nothing typed is a notice's text
    "broadcast/on": CHOICE,
    "team/*": FREE,
    "faqadmin/*": FREE,
    "roles/*": FREE,
    "console/*": FREE,
    "faq/ask": FREE,  # the Q&A prompt itself: whatever is typed is the question
    "lesson_team/*": FREE,
    "linking/*": FREE,
    # Steps that store what is typed: guarded against questions and refusals.
    "listings/product": TEXT,
    "listings/grade": TEXT,
    "listings/availability": TEXT,
    "listings/cert_number": TEXT,
    "orders/tracking": TEXT,
    "orders/reason": TEXT,
    "order_out/buyer": TEXT,
    "onboarding/name": TEXT,
    "buy/find": TEXT,
    "buy/name": TEXT,
    "buy/address": TEXT,
    "buy/note": TEXT,
    # Steps with a parser.
    "listings/quantity": QUANTITY,
    "order_out/qty": QUANTITY,
    "buy/qty": QUANTITY,
    "listings/price": PRICE,
    "order_out/phone": PHONE,
    "onboarding/phone": PHONE,
    "buy/phone": PHONE,
    "onboarding/area": AREA,
}


def step_kind(flow: str, state: str, has_choices: bool) -> str:
    """The kind of a step: listed, or a choice step when it offers buttons."""
    kind = STEP_KINDS.get(f"{flow}/{state}") or STEP_KINDS.get(f"{flow}/*")
    if kind:
        return kind
    return CHOICE if has_choices else TEXT


@dataclass(frozen=True)
class Step:
    """The pending question as the router sees it."""

    flow: str  # "" or "menu" at the main menu
    state: str
    kind: str
    choices: tuple[Choice, ...] = ()
    default_unit: str | None = None

    @property
    def at_menu(self) -> bool:
        """Whether the user is at the main menu (no form pending)."""
        return self.flow in ("", "menu")


@dataclass
class Decision:
    """Where a text goes, why, and the details found."""

    route: str
    target: str = ""  # flow/state for `menu`
    choice: str = ""  # for `step`: the button the text stands for (lexicon words), if any
    request: Request | None = None
    slots: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


class Knowledge(Protocol):
    """What the router may look up: the FAQ score and product names."""

    def faq_score(self, text: str) -> float:
        """The FAQ matcher's best score for a text (0..1)."""
        ...

    def product(self, text: str) -> tuple[str, str] | None:
        """(id, name) of the product these words name exactly, or None."""
        ...

    def knows(self, word: str) -> bool:
        """Whether a folded syllable is a real word (seen in the FAQ's questions or answers)."""
        ...


# --- the decision -------------------------------------------------------------------------

_FILLABLE = frozenset({"product", "quantity", "price"})
_CANCEL = frozenset({"huy", "thoat", "menu", "cancel", "exit", "quit", "huy bo"})
_CORRECTION = re.compile(r"^(?:a |ah |oi )?(?:nham|nhầm|sai|xin loi nham|sua lai)\b[ ,]*")


def _exact_choice(text: str, choices: tuple[Choice, ...]) -> Choice | None:
    """A choice typed exactly: its number, its label or one of its words."""
    typed = fold(text)
    if not typed:
        return None
    if typed.isdecimal() and len(typed) <= 3:
        index = int(typed) - 1
        return choices[index] if 0 <= index < len(choices) else None
    for choice in choices:
        names = {fold(choice.label), *(fold(w) for w in choice.words)}
        names |= {n.lstrip("0123456789 ") for n in names}  # "1. Xác nhận" typed as "xac nhan"
        if typed in names or lexical(text) in names:
            return choice
    return None


_MEANING_KEYS = {
    "skip": (":skip", ":none", ":c:none"),
    "unknown": (":skip", ":none", ":c:none"),
    "done": (":done", ":c:done"),
    "share": (":sh:",),
    "back": (":back", "back"),
}
_MEANING_WORDS = {
    "skip": ("bo qua", "skip", "khong co", "none"),
    "unknown": ("bo qua", "skip", "khong co", "none"),
    "yes": ("co", "yes", "dong y", "xac nhan", "ok", "dung"),
    "no": ("khong", "no", "ko", "giu"),
    "done": ("xong", "done"),
    "back": ("quay lai", "tro ve", "back"),
    "share": ("chia se", "share"),
}


def lexicon_choice(text: str, choices: tuple[Choice, ...]) -> tuple[str, Choice | None]:
    """The lexicon's meaning of a text and the step's choice that carries it, if any."""
    sense = meaning(text)
    if not sense:
        return "", None
    keys = _MEANING_KEYS.get(sense, ())
    words = _MEANING_WORDS.get(sense, ())
    for choice in choices:
        names = {fold(choice.label), *(fold(w) for w in choice.words)}
        if any(choice.key.endswith(k) or k in choice.key for k in keys):
            return sense, choice
        if any(w in names for w in words) or any(fold(choice.label).startswith(w) for w in words):
            return sense, choice
    return sense, None


def correction(text: str, default_unit: str | None) -> dict[str, str]:
    """ "à nhầm, 3 tạ chứ" → {"correct": "quantity", ...}; {} when it is no correction."""
    folded = fold(text)
    m = _CORRECTION.match(folded)
    if m is None:
        return {}
    rest = folded[m.end() :].removesuffix(" chu").removesuffix(" thoi").strip()
    rest = re.sub(r"^(?:la |gia |so luong |con )", "", rest).strip()
    if re.match(r"^gia\b", folded[m.end() :].strip()) or re.search(r"[0-9]\s*(?:k|nghin)", rest):
        price = parse_price(rest)
        if price is not None:
            return {"correct": "price", "price": str(price.amount)}
    quantity = parse_quantity(rest)
    if quantity is not None and quantity.unit:
        amount = format(quantity.amount.normalize(), "f")
        return {"correct": "quantity", "qty": amount, "unit": quantity.unit}
    return {}


def _parser_fit(text: str, step: Step) -> bool:
    """Whether the step's own parser reads the text."""
    from bot.text import normalize_phone  # local: only phone steps need it

    if step.kind == QUANTITY:
        return parse_quantity(text, step.default_unit) is not None
    if step.kind == PRICE:
        return parse_price(text) is not None
    if step.kind == PHONE:
        return normalize_phone(text) is not None
    return False


def decide(text: str, step: Step, know: Knowledge) -> Decision:
    """Where typed text goes, given the pending step."""
    text = text[:MAX_TEXT]  # the decision needs no more; the step still gets all of it
    folded = fold(text)
    if folded in _CANCEL:
        return Decision(CANCEL)
    if step.at_menu:
        return _at_menu(text, step, know)
    if step.kind == FREE:
        # Only its own buttons and the skip words apply: the text is the answer.
        exact = _exact_choice(text, step.choices)
        if exact is not None:
            return Decision(STEP, choice=exact.key, scores={"free": 1.0, "choice": 1.0})
        sense, choice = lexicon_choice(text, step.choices)
        if sense in ("skip", "unknown") and choice is not None and len(folded) < 20:
            return Decision(STEP, choice=choice.key, slots={"skip": "1"}, scores={"free": 1.0})
        return Decision(STEP, scores={"free": 1.0})
    return _at_step(text, step, know)


def _at_menu(text: str, step: Step, know: Knowledge) -> Decision:
    if not any(ch.isalnum() for ch in text):
        return Decision(CHAT)  # emoji, "???", ":))": a sticker typed as text
    exact = _exact_choice(text, step.choices)
    if exact is not None:
        return Decision(MENU, target=exact.key, scores={"choice": 1.0})
    order = order_request(text) or share_request(text)
    if order is not None:
        return Decision(REQUEST, request=order, slots=order.as_slots())
    target = command_target(text)
    q = question_score(text)
    if target:
        return Decision(MENU, target=target, scores={"command": 1.0, "question": q})
    trade = trade_request(text, know.product)
    if trade is not None and q < QUESTION:
        return Decision(REQUEST, request=trade, slots=trade.as_slots(), scores={"question": q})
    if q >= QUESTION:
        return Decision(FAQ, scores={"question": q})
    if is_chat(text):
        return Decision(CHAT, scores={"question": q})
    near = _near_choice(text, step)
    mistyped = any(not know.knows(w) for w in fold(text).split())
    if near is not None and mistyped:  # "dang bna": a menu line mistyped ("cay hoi" is not)
        return Decision(MENU, target=near.key, scores={"question": q, "fuzzy": 1.0})
    return Decision(FAQ, scores={"question": q})


def _at_step(text: str, step: Step, know: Knowledge) -> Decision:
    exact = _exact_choice(text, step.choices)
    if exact is not None:
        return Decision(STEP, choice=exact.key, scores={"choice": 1.0})
    fixed = correction(text, step.default_unit)
    if fixed and step.flow == "listings":
        return Decision(STEP, slots=fixed, scores={"correction": 1.0})
    q = question_score(text)
    scores = {"question": q}
    if _parser_fit(text, step) and q < 1.0:
        return Decision(STEP, scores={**scores, "parser": 1.0})
    if step.flow == "listings" and step.state in _FILLABLE and q < QUESTION:
        several = form_details(text, know.product)
        if several is not None:  # "200 kg giá 45k": this answer and a later one
            return Decision(STEP, request=several, slots={"fill": "1"}, scores=scores)
    sense, choice = lexicon_choice(text, step.choices)
    if choice is not None and q < QUESTION:
        slots = {"skip": "1"} if sense in ("skip", "unknown") else {}
        return Decision(STEP, choice=choice.key, slots=slots, scores={**scores, "lexicon": 1.0})
    if sense in ("skip", "unknown") and step.kind == TEXT and q < QUESTION:
        # A refusal is no value: the step is skipped if it may be, asked again if not.
        return Decision(STEP, slots={"skip": "1"}, scores={**scores, "lexicon": 1.0})
    if q >= QUESTION:
        return Decision(FAQ, scores=scores)
    order = order_request(text)
    if order is not None and (order.code or step.kind == CHOICE):
        return Decision(REQUEST, request=order, slots=order.as_slots(), scores=scores)
    target = command_target(text, in_form=True)
    if target and not (step.kind == CHOICE and _fuzzy_fit(text, step)):
        return Decision(MENU, target=target, scores={**scores, "command": 1.0})
    if is_chat(text, strict=step.kind == TEXT) and not (
        step.kind == CHOICE and _fuzzy_fit(text, step)
    ):
        return Decision(CHAT, scores=scores)
    if wants_digits(text, step):
        # "nhà tôi mất điện từ sáng" at the phone step: no number in it, so no answer to it.
        # A question is answered and the step asks again; at the phone step other words are
        # chatter (asked again, not "not a mobile number"); an amount's or a price's own
        # correction already says what it wants.
        scores["faq"] = know.faq_score(text)
        if scores["faq"] >= FAQ_SURE:
            return Decision(FAQ, scores={**scores, "digits": 0.0})
        if step.kind == PHONE:
            return Decision(CHAT, scores={**scores, "digits": 0.0})
    words = expand_abbreviations(fold(text)).split()
    if step.kind == TEXT and len(words) >= FAQ_LONG:
        faq = know.faq_score(text)
        scores["faq"] = faq
        if faq >= FAQ_SURE and know.product(text) is None:
            return Decision(FAQ, scores=scores)
    return Decision(STEP, scores=scores)


DIGIT_KINDS = frozenset({PHONE, QUANTITY, PRICE})
# Number words that fold to nothing else a farmer would say at an amount or price step
# ("tư", "năm", "ba", "sáu", "bảy", "tám" fold onto "từ", "năm" (year), "ba" (father)...: left out).
NUMBER_WORDS = frozenset(
    {"mot", "hai", "bon", "chin", "muoi", "chuc", "tram", "nghin", "ngan", "trieu", "ty", "nua"}
)


def wants_digits(text: str, step: Step) -> bool:
    """Whether the step's parser needs a number a sentence does not have (nor spells out).

    One word ("abc") stays the step's: its correction, and the help after three tries."""
    if step.kind not in DIGIT_KINDS or any(ch.isdigit() for ch in text):
        return False
    words = fold(text).split()
    if len(words) < 2:
        return False
    if step.kind != PHONE and NUMBER_WORDS.intersection(words):
        return False  # "mười mấy", "hai chục": an amount in words, so an answer to correct
    return not _parser_fit(text, step)


def _near_choice(text: str, step: Step) -> Choice | None:
    """The choice a short text is a near spelling of (one or two words off), if any."""
    typed = fold(text)
    if len(typed.split()) > 3 or len(typed) < 4:
        return None
    # Whole-string likeness only: "cây hồi" must not pick the line whose word is "hỏi".
    scored = sorted(
        (
            (max(fuzz.ratio(typed, fold(n)) for n in (c.label, *c.words)), i)
            for i, c in enumerate(step.choices)
        ),
        reverse=True,
    )
    if not scored or scored[0][0] < NEAR:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < 5:
        return None
    return step.choices[scored[0][1]]


def _fuzzy_fit(text: str, step: Step) -> bool:
    """Whether a short text is close to one of the step's choices."""
    return _near_choice(text, step) is not None
