"""Claims vendors make: customs evasion, stealth shipping, safe delivery, no prescription, RC use.

The phrases are data (nlp/data/claims.yaml, compiled by claim_rules). A field is scanned once: one
Aho-Corasick automaton holds the first word of every phrase (followed by each character that may
join it to the next word, when no phrase ends there), so one pass over the lower-cased text yields
every place a phrase can start. Only there do cheap checks run (the word boundary left and right,
one regex for all phrases sharing that first word), then each phrase's own regex.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import ahocorasick

from . import Hit, signal
from .claim_rules import _L, CLAIM_TYPES, ClaimsConfigError, Phrase, compile_claims
from .windows import lowered, non_ascii, occurrences, per_text, rarest

__all__ = ["CLAIM_TYPES", "ClaimsConfigError", "Phrase", "compile_claims"]

_IN_L = re.compile(f"[{_L}]")
_L_CHARS = frozenset(c for c in map(chr, range(0x500)) if _IN_L.match(c))
_GROUP_NAME = re.compile(r"\(\?P<\w+>")
_SPACED = 0x2E80                   # needles with a character from here on are Chinese: no word breaks


@dataclass(frozen=True)
class _Start:
    """The phrases that start with one folded first word."""
    first: str
    left: bool                     # its first character is a word letter: the one before must not be
    right: bool                    # keyed by the bare word ending in a word letter: the next must not be
    union: re.Pattern | None       # any of its phrases, to test a place once for all of them
    phrases: tuple[tuple[int, Phrase], ...]     # (scan order, phrase)


@dataclass(frozen=True)
class _Index:
    automaton: ahocorasick.Automaton            # key -> (key length, _Start)
    ordered: tuple[Phrase, ...]                 # every phrase, in scan order
    needles: tuple[bytes | str, ...]            # per phrase: a word needle (UTF-8) or a Chinese one (str)
    sensitive: tuple[tuple[int, str, Phrase], ...]   # (order, probe, phrase) matched on the text as written
    word_set: frozenset[bytes]                  # needles looked up as whole \w+ words (UTF-8)


def _scan_order(phrases: list[Phrase]) -> list[Phrase]:
    """Phrases grouped by needle (groups in the order their needle first appears in the config), and
    within a group by first word: a tie between two phrases (same type and span) goes to the earlier."""
    by_needle: dict[str, dict[str, list[Phrase]]] = {}
    for p in phrases:
        by_needle.setdefault(p.needle, {}).setdefault(p.first, []).append(p)
    return [p for firsts in by_needle.values() for group in firsts.values() for p in group]


@lru_cache(maxsize=1)
def _join_chars() -> str:
    """Every character the regexes' [\\s\\-]+ between two words matches (\\s is str.isspace)."""
    return "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) + "-"


@lru_cache(maxsize=1)
def _index() -> _Index:
    ordered = _scan_order(compile_claims())
    folded: dict[str, list[tuple[int, Phrase]]] = {}
    for i, p in enumerate(ordered):
        if not p.case_sensitive:
            folded.setdefault(p.first, []).append((i, p))
    automaton = ahocorasick.Automaton()
    for first, phrases in folded.items():
        union = re.compile("|".join(f"(?:{_GROUP_NAME.sub('(?:', p.regex.pattern)})" for _, p in phrases)) \
            if len(phrases) > 1 else None
        # a phrase of several words needs a space or hyphen right after its first word
        joined = all(p.words > 1 for _, p in phrases)
        start = _Start(first, first[0] in _L_CHARS, not joined and first[-1] in _L_CHARS, union, tuple(phrases))
        for key in ([first + c for c in _join_chars()] if joined else [first]):
            automaton.add_word(key, (len(key), start))
    automaton.make_automaton()
    sensitive = tuple((i, rarest(p.first), p) for i, p in enumerate(ordered) if p.case_sensitive)
    needles = tuple(p.needle.encode() if all(ord(c) < _SPACED for c in p.needle) else p.needle for p in ordered)
    words = frozenset(n for n in needles if isinstance(n, bytes))
    return _Index(automaton, tuple(ordered), needles, sensitive, words)


_TOKEN = re.compile(r"\w+")
# every ASCII byte that is not a word character becomes a space (the UTF-8 bytes of other scripts
# stay: _tokens_among blanks their non-word characters first)
_NON_WORD = bytes(c if c >= 0x80 or chr(c).isalnum() or c == 0x5F else 0x20 for c in range(256))


@lru_cache(maxsize=8192)
def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"             # what \w matches in a str pattern


@lru_cache(maxsize=1024)
def _non_word_chars(chars: frozenset[str]) -> tuple[str, ...]:
    """The non-ASCII non-word characters that lower-casing `chars` (a text's non-ASCII characters)
    can put in the lower-cased text: lower() maps character by character (final sigma aside, and
    both sigmas are word characters)."""
    return tuple(sorted({ch for c in chars for ch in c.lower() if not ch.isascii() and not _is_word_char(ch)}))


def _tokens_among(text: str, low: str, wanted: frozenset[bytes]) -> set[bytes]:
    r"""The members of `wanted` that occur as whole \w+ tokens of `low` (the same tokens as
    _TOKEN.findall(low)), UTF-8. Tokens come from blanking every non-word character and splitting."""
    if not low.isascii():
        for c in _non_word_chars(non_ascii(text)):     # "★", "—", "：" ... (str.replace: a C loop each)
            low = low.replace(c, " ")
    return set(wanted.intersection(low.encode("utf-8", "surrogatepass").translate(_NON_WORD).split()))


def _fill(p: Phrase, m: re.Match) -> str:
    value = p.value
    if "<" not in value:
        return value.strip()
    groups = m.groupdict()
    for name in ("country", "word"):
        if f"<{name}>" in value:
            got = groups.get(name)
            value = value.replace(f"<{name}>", re.sub(r"[\s\-]+", " ", got.lower()) if got else "")
    return value.strip()


_LAST_WORD = re.compile(r"(\w+)[\s\-]+\Z")


def _preceded_by(text: str, start: int, words: tuple[str, ...]) -> bool:
    """Is the word just before `start` (only spaces/hyphens between) one of `words`? ("paypal stealth")

    What `_LAST_WORD.search(...)` says of the 30 characters before `start`, read backwards without
    the regex (which backtracks over every start position of the window)."""
    s = text[max(0, start - 30):start].lower()
    i = len(s)
    while i and (s[i - 1].isspace() or s[i - 1] == "-"):
        i -= 1
    j = i
    while j and (s[j - 1].isalnum() or s[j - 1] == "_"):
        j -= 1
    return i < len(s) and j < i and s[j:i] in words


def _matches(rx: re.Pattern, s: str, at: list[int]) -> Iterator[re.Match]:
    """What `rx.finditer(s)` yields, when every match starts at one of the sorted positions `at`."""
    end = 0
    for i in at:
        if i >= end and (m := rx.match(s, i)):
            yield m
            end = m.end()


def _folded_matches(ix: _Index, low: str) -> list[tuple[int, re.Match]]:
    """(scan order, match) of every case-insensitive phrase in the lower-cased text, from one pass of
    the automaton; per phrase, what its regex's finditer would yield."""
    out: list[tuple[int, re.Match]] = []
    reach: dict[int, int] = {}         # scan order -> end of that phrase's last match
    n = len(low)
    letters = _L_CHARS
    for last, (size, st) in ix.automaton.iter(low):
        i = last - size + 1
        if st.left and i and low[i - 1] in letters:
            continue                   # inside a word ("no" in "piano")
        if st.right and last + 1 < n and low[last + 1] in letters:
            continue                   # the start of a longer word ("reship" in "reshipping")
        if st.union is not None and not st.union.match(low, i):
            continue
        for order, p in st.phrases:
            if i >= reach.get(order, 0) and (m := p.regex.match(low, i)):
                reach[order] = m.end()
                out.append((order, m))
    return out


@per_text   # shared by the finders of one extract_signals call
def _scan(text: str) -> tuple[tuple[str, Hit], ...]:
    """All claim hits of every type, computed once per text; per type the longest match at a start wins."""
    ix = _index()
    low = lowered(text)
    words: set[bytes] | None = None

    def needled(order: int) -> bool:
        """Is the phrase's needle one of the text's words (a Chinese needle: in the text at all)?"""
        nonlocal words
        needle = ix.needles[order]
        if needle.__class__ is bytes:
            if words is None:
                words = _tokens_among(text, low, ix.word_set)
            return needle in words
        return not text.isascii() and needle in low

    if len(low) == len(text):          # lower() never shrinks; same length => same offsets
        found = _folded_matches(ix, low)
    else:                              # rare: each phrase's IGNORECASE regex on the text
        found = [(i, m) for i, p in enumerate(ix.ordered) if not p.case_sensitive and needled(i)
                 for m in p.regex_i.finditer(text)]
    for order, probe, p in ix.sensitive:
        if probe in text:
            found.extend((order, m) for m in _matches(p.regex, text, occurrences(text, p.first)))
    if not found:
        return ()
    found.sort(key=lambda om: om[0])   # stable: each phrase's matches stay in text order
    best: dict[tuple[str, int], tuple[str, Hit]] = {}
    for order, m in found:
        p = ix.ordered[order]
        if not needled(order):
            continue
        if p.not_preceded_by and _preceded_by(text, m.start(), p.not_preceded_by):
            continue
        hit = (m.start(), m.end(), _fill(p, m), p.rule, p.confidence)
        key = (p.type, m.start())
        if key not in best or hit[1] > best[key][1][1]:
            best[key] = (p.type, hit)
    hits = sorted(best.values(), key=lambda th: (th[1][0], -th[1][1]))
    # drop a hit nested inside a longer hit of the same type ("stealth" inside "stealth shipping")
    out, reach = [], {}
    for type_, hit in hits:
        if reach.get(type_, -1) >= hit[1]:
            continue
        reach[type_] = max(reach.get(type_, -1), hit[1])
        out.append((type_, hit))
    return tuple(out)


@per_text
def _by_type(text: str) -> dict[str, tuple[Hit, ...]]:
    out: dict[str, list[Hit]] = {}
    for t, hit in _scan(text):
        out.setdefault(t, []).append(hit)
    return {t: tuple(hits) for t, hits in out.items()}


def _finder(type_: str):
    def find(text: str) -> Iterator[Hit]:
        return iter(_by_type(text).get(type_, ()))
    find.__name__ = f"find_{type_}"
    find.__doc__ = f"{type_} claims from nlp/data/claims.yaml"
    return find


for _type in CLAIM_TYPES:
    signal(_type)(_finder(_type))
