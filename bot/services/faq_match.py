"""Find the FAQ entry a farmer meant, whatever the accents, typos and abbreviations.

Each entry's question and alternative phrasings are normalised once (folded, abbreviations
expanded, filler words dropped) into weighted features: content syllables and adjacent
syllable pairs, weighted by how rare they are across entries. A query is normalised the same
way, its unknown syllables corrected to the nearest known one, and scored against every entry
sharing a feature (an inverted index keeps this fast at thousands of entries): how much of the
query the entry covers, and how well the single best phrasing matches the query as a whole.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.text import expand_abbreviations, fold

# Words that say how a question is asked, not what it is about; folded, whole phrases first.
FILLER_PHRASES = (
    "cho em hoi",
    "cho chi hoi",
    "cho toi hoi",
    "cho anh hoi",
    "cho minh hoi",
    "cho hoi",
    "xin hoi",
    "nhu the nao",
    "bang cach nao",
    "lam the nao",
    "lam sao",
    "ra sao",
    "the nao",
    "nhu nao",
    "co duoc khong",
    "duoc khong",
    "co phai khong",
    "la gi",
    "la cai gi",
    "cai gi",
    "bao gio",
    "o dau",
    "tai sao",
    "vi sao",
)
FILLER_WORDS = frozenset(
    (
        "a",
        "ah",
        "oi",
        "nhe",
        "nha",
        "nhi",
        "ha",
        "vay",
        "the",
        "thi",
        "ma",
        "la",
        "va",
        "voi",
        "cua",
        "cho",
        "de",
        "co",
        "khong",
        "duoc",
        "gi",
        "nao",
        "sao",
        "em",
        "anh",
        "chi",
        "toi",
        "minh",
        "tui",
        "bac",
        "chu",
        "ong",
        "ba",
        "ad",
        "admin",
        "ak",
        "u",
        "uh",
        "um",
        "ok",
        "nay",
        "kia",
        "do",
        "day",
        "ay",
        "roi",
        "dang",
        "se",
        "da",
        "cung",
        "con",
        "van",
        "muon",
        "can",
        "phai",
        "nen",
        "hay",
        "hoac",
        "mot",
        "nhung",
        "cac",
        "may",
        "nhieu",
        "it",
        "rat",
        "lam",
    )
)
# The same thing said with other words ("shop" for "gian hàng"); folded, applied to queries
# and phrasings alike, so an admin's wording and a farmer's meet in the middle.
SYNONYMS = {
    "shop": "gian hang",
    "cua hang": "gian hang",
    "online": "tren mang",
    "internet": "mang",
    "vo so": "voso",
    "post mart": "postmart",
    "app": "ung dung",
    "ung dung": "ung dung",
    "tien ve": "nhan tien",
    "tra tien": "thanh toan",
    "livestream": "livestream",
    "live": "livestream",
    "phat truc tiep": "livestream",
    "chuyen tien": "chuyen khoan",
    "cccd": "can cuoc",
    "cmnd": "can cuoc",
    "thong bao": "thong bao",
}
_SYNONYM_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)) + r")\b"
)
_FILLER_RE = re.compile(r"\b(" + "|".join(map(re.escape, FILLER_PHRASES)) + r")\b")

# Chosen on the labelled set (tests/data/faq_queries.csv) for few wrong confident answers
# rather than many confident ones: a "did you mean" costs a tap, a wrong answer costs trust.
CONFIDENT = 0.45  # at or above: answer straight away (if clearly ahead of the next entry)
MARGIN = 0.08  # how far ahead of the runner-up a confident answer must be
SUGGEST = 0.25  # at or above, and close to the best: offer as "did you mean…"
SUGGEST_SPREAD = 0.15  # suggestions further below the best than this are noise
MAX_SUGGESTIONS = 3
PLAUSIBLE_UNITS = 2  # separate words/phrases a suggestion must share with the query
DUPLICATE = 0.5  # share of the smaller entry's features two near-duplicate entries have in common
GUESS_WEIGHT = 0.6  # share of a typo-corrected word's weight that counts as matched
_SHORTLIST = 24  # entries scored in full after the inverted-index pass


def normalise(text: str) -> list[str]:
    """Content syllables of a text: folded, abbreviations expanded, synonyms and filler handled."""
    folded = expand_abbreviations(fold(text))
    folded = _SYNONYM_RE.sub(lambda m: SYNONYMS[m.group(1)], folded)
    folded = _FILLER_RE.sub(" ", folded)
    return [t for t in folded.split() if t not in FILLER_WORDS]


def features(tokens: list[str]) -> set[str]:
    """Syllables and adjacent syllable pairs (Vietnamese words are mostly two syllables)."""
    pairs = {f"{a} {b}" for a, b in itertools.pairwise(tokens)}
    return {*tokens, *pairs}


@dataclass(frozen=True)
class Hit:
    """An entry and how well it matches (0..1)."""

    entry_id: int
    score: float


@dataclass(frozen=True)
class Result:
    """What the matcher concluded: one confident entry, suggestions, or nothing."""

    confident: Hit | None
    suggestions: list[Hit]

    @property
    def best(self) -> Hit | None:
        """The top-ranked entry, confident or not."""
        return self.confident or (self.suggestions[0] if self.suggestions else None)


@dataclass
class _Phrase:
    entry_id: int
    feats: frozenset[str]
    text: str  # normalised tokens joined, for the fuzzy signal


class Matcher:
    """An index over FAQ phrasings; rebuild (or `put`/`drop`) when entries change."""

    def __init__(self, entries: Iterable[tuple[int, list[str]]] = ()) -> None:
        self._phrases: dict[int, list[_Phrase]] = {}
        self._bags: dict[int, frozenset[str]] = {}  # every feature of an entry's phrasings
        self._own: dict[int, float] = {}  # id(phrase) -> its total weight; reset on edits
        self._postings: dict[str, set[int]] = defaultdict(set)
        self._vocab: dict[str, int] = defaultdict(int)  # syllable -> entries using it
        self._idf_cache: dict[str, float] = {}
        self._lexicon: set[str] = set()  # real words seen anywhere (answers): never "corrected"
        for entry_id, phrasings in entries:
            self._add(entry_id, phrasings)
        self._refresh()

    def __len__(self) -> int:
        return len(self._phrases)

    def put(self, entry_id: int, phrasings: list[str]) -> None:
        """Add or replace one entry's phrasings."""
        self._remove(entry_id)
        self._add(entry_id, phrasings)
        self._refresh()

    def add_words(self, text: str) -> None:
        """Learn real words (e.g. from answers) so queries using them are not "corrected"."""
        self._lexicon.update(fold(text).split())
        self._correct.cache_clear()

    def knows(self, word: str) -> bool:
        """Whether a folded syllable is a word seen in the questions or answers."""
        return word in self._vocab or word in self._lexicon

    def drop(self, entry_id: int) -> None:
        """Forget one entry."""
        self._remove(entry_id)
        self._refresh()

    def _add(self, entry_id: int, phrasings: list[str]) -> None:
        phrases = []
        bag: set[str] = set()
        for text in phrasings:
            tokens = normalise(text)
            if tokens:
                feats = frozenset(features(tokens))
                phrases.append(_Phrase(entry_id, feats, " ".join(tokens)))
                bag |= feats
        self._phrases[entry_id] = phrases
        self._bags[entry_id] = frozenset(bag)
        for feat in bag:
            self._postings[feat].add(entry_id)
            if " " not in feat:
                self._vocab[feat] += 1

    def _remove(self, entry_id: int) -> None:
        phrases = self._phrases.pop(entry_id, [])
        self._bags.pop(entry_id, None)
        for feat in {f for p in phrases for f in p.feats}:
            self._postings[feat].discard(entry_id)
            if not self._postings[feat]:
                del self._postings[feat]
            if " " not in feat:
                self._vocab[feat] -= 1
                if not self._vocab[feat]:
                    del self._vocab[feat]

    def _refresh(self) -> None:
        self._idf_cache = {}
        self._own = {}
        self._vocab_list = sorted(self._vocab)
        self._correct.cache_clear()

    def _idf(self, feat: str) -> float:
        weight = self._idf_cache.get(feat)
        if weight is None:
            df = len(self._postings.get(feat, ()))
            weight = math.log(1 + (len(self._phrases) + 1) / (df + 0.5))
            self._idf_cache[feat] = weight
        return weight

    @lru_cache(maxsize=4096)  # noqa: B019 - one matcher per process; cleared on every edit
    def _correct(self, token: str) -> str:
        """The known syllable a typed one most likely is (typos, missing letters)."""
        if token in self._vocab or token in self._lexicon or len(token) < 4 or token.isdigit():
            return token
        found = process.extractOne(token, self._vocab_list, scorer=fuzz.ratio, score_cutoff=80)
        return found[0] if found else token

    def _query_tokens(self, text: str) -> tuple[list[str], set[str]]:
        """Query syllables after corrections, and the ones that were guessed by correction."""
        typed = normalise(text)
        tokens = [self._correct(t) for t in typed]
        guessed = {c for t, c in zip(typed, tokens, strict=True) if c != t}
        merged: list[str] = []
        i = 0
        while i < len(tokens):  # "vo so" typed apart: glue when only the glued form is known
            if i + 1 < len(tokens) and tokens[i] + tokens[i + 1] in self._vocab:
                merged.append(tokens[i] + tokens[i + 1])
                i += 2
            else:
                merged.append(tokens[i])
                i += 1
        return merged, guessed

    def match(self, text: str) -> Result:
        """Rank entries for a query and decide: answer, suggest, or admit not knowing."""
        hits = self.rank(text)
        if not hits:
            return Result(None, [])
        top = hits[0]
        runner_up = hits[1].score if len(hits) > 1 else 0.0
        if top.score >= CONFIDENT and top.score - runner_up >= MARGIN:
            return Result(top, [])
        if top.score >= CONFIDENT and self._same(top.entry_id, hits[1].entry_id):
            # Two entries saying the same thing (an imported FAQ on top of the shipped one)
            # must not split the vote: answer with the better one if the rest are behind.
            third = hits[2].score if len(hits) > 2 else 0.0
            if top.score - third >= MARGIN:
                return Result(top, [])
        floor = max(SUGGEST, top.score - SUGGEST_SPREAD)
        close = [h for h in hits[:MAX_SUGGESTIONS] if h.score >= floor]
        if not close:
            return Result(None, [])
        tokens = self._query_tokens(text)[0]
        if len(tokens) < 3:  # a word or two ("tien") is all there is to go on: keep them
            return Result(None, close)
        feats = features(tokens)
        return Result(None, [h for h in close if self._plausible(feats, h.entry_id)])

    def _plausible(self, feats: set[str], entry_id: int) -> bool:
        """Whether an entry shares at least two separate words or phrases with the query."""
        # One shared pair and its two syllables is often a folding or word-boundary accident
        # ("mat dien tu sang" shares only "dien tu" with "ví điện tử"): not worth a suggestion.
        shared = feats & self._bags.get(entry_id, frozenset())
        pairs = [f for f in shared if " " in f]
        in_pairs = {word for pair in pairs for word in pair.split()}
        singles = [f for f in shared if " " not in f and f not in in_pairs]
        return len(pairs) + len(singles) >= PLAUSIBLE_UNITS

    def _same(self, a: int, b: int) -> bool:
        """Whether two entries are near-duplicates: most features of the smaller are shared."""
        bag_a, bag_b = self._bags.get(a, frozenset()), self._bags.get(b, frozenset())
        smaller = min(len(bag_a), len(bag_b))
        return smaller > 0 and len(bag_a & bag_b) / smaller >= DUPLICATE

    def rank(self, text: str) -> list[Hit]:
        """The best-matching entries for a query, best first, with their scores."""
        tokens, guessed = self._query_tokens(text)
        feats = features(tokens)
        # A corrected typo is a guess: it counts for less than a word typed as we know it.
        weights = {
            f: self._idf(f) * (GUESS_WEIGHT if guessed & set(f.split()) else 1.0)
            for f in feats
            if f in self._postings
        }
        total = sum(self._idf(f) for f in feats)
        if not weights or total <= 0:
            return []
        # Candidates come from the rarer features only: a word in 4% of all entries
        # ("bán", "giá") says little and would make every query walk thousands of postings.
        by_rarity = sorted(weights, key=lambda f: len(self._postings[f]))
        common = max(4 * _SHORTLIST, len(self._phrases) // 25)
        seeds = [f for f in by_rarity if len(self._postings[f]) <= common] or by_rarity[:1]
        rough: dict[int, float] = defaultdict(float)
        for feat in seeds:
            weight = weights[feat]
            for entry_id in self._postings[feat]:
                rough[entry_id] += weight
        shortlist = heapq.nlargest(_SHORTLIST, rough, key=rough.__getitem__)
        phrases = [p for entry_id in shortlist for p in self._phrases[entry_id]]
        # One call scores every shortlisted phrasing in rapidfuzz's C loop.
        fuzzy = [0.0] * len(phrases)
        for _text, score, index in process.extract(
            " ".join(tokens), [p.text for p in phrases], scorer=fuzz.token_sort_ratio, limit=None
        ):
            fuzzy[index] = score / 100
        best: dict[int, float] = defaultdict(float)
        for phrase, fuzzy_score in zip(phrases, fuzzy, strict=True):
            shared = sum(weights.get(f, 0.0) for f in phrase.feats & feats)
            own = self._own.get(id(phrase))
            if own is None:
                own = self._own[id(phrase)] = sum(self._idf(f) for f in phrase.feats)
            score = 0.7 * (2 * shared / (total + own)) + 0.3 * fuzzy_score
            if score > best[phrase.entry_id]:
                best[phrase.entry_id] = score
        hits = []
        for entry_id in shortlist:
            bag = self._bags[entry_id]
            coverage = sum(w for f, w in weights.items() if f in bag) / total
            hits.append(Hit(entry_id, round(0.5 * coverage + 0.5 * best[entry_id], 4)))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits
