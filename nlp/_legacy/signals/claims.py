"""The claim scan before issue 13: tokenise the field, keep the phrase groups whose needle is one of
its words, then search each group's first words and try the phrases there."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from nlp.signals.claim_rules import _L, CLAIM_TYPES, Phrase, compile_claims  # unchanged rule compilation
from nlp.signals.claims import _fill, _matches, _preceded_by  # unchanged
from nlp.signals.windows import lowered, non_ascii, occurrences, per_text, rarest

from . import Hit, signal

_TOKEN = re.compile(r"\w+")
# every ASCII byte that is not a word character becomes a space (the UTF-8 bytes of other scripts
# stay: _tokens_among blanks their non-word characters first)
_NON_WORD = bytes(c if c >= 0x80 or chr(c).isalnum() or c == 0x5F else 0x20 for c in range(256))


@dataclass(frozen=True)
class _First:
    """Phrases of one group that start with the same literal `first`."""
    first: str
    probe: str                       # its rarest character: `probe in text` before a substring search
    phrases: tuple[Phrase, ...]
    union: re.Pattern | None         # any of the (folded) phrases, to test a position once for all
    token: bytes | None              # its leading run of _L letters/digits, when there is one


@dataclass(frozen=True)
class _Group:
    """The phrases sharing one needle, split by the literal they start with (config order)."""
    rank: int                                           # config position of its first phrase
    by_first: tuple[_First, ...]


@dataclass(frozen=True)
class _Index:
    words: dict[bytes, _Group]        # needle that must occur as a whole \w+ token (UTF-8) -> group
    word_set: frozenset[bytes]        # those needles
    first_tokens: frozenset[bytes]    # every _First.token
    substrings: dict[str, _Group]     # Chinese needles, looked up as substrings (no word breaks)
    cjk_first: re.Pattern             # any first character of a Chinese needle


_IN_L = re.compile(f"[{_L}]+")
_GROUP_NAME = re.compile(r"\(\?P<\w+>")


def _first(first: str, phrases: list[Phrase]) -> _First:
    folded = [p for p in phrases if not p.case_sensitive]
    union = None
    if len(folded) > 1:
        try:
            union = re.compile("|".join(f"(?:{_GROUP_NAME.sub('(?:', p.regex.pattern)})" for p in folded))
        except re.error:
            union = None
    # a folded match starts where the char before is not in _L and its first word's leading run
    # ends before a character that is not in _L either: that run occurs as a whole run of _L
    lead = re.match(r"\w+", first)
    token = lead.group().encode() if lead and _IN_L.fullmatch(lead.group()) and not any(
        p.case_sensitive for p in phrases) else None
    return _First(first, rarest(first), tuple(phrases), union, token)


def _group(rank: int, phrases: list[Phrase]) -> _Group:
    by_first: dict[str, list[Phrase]] = {}
    for p in phrases:
        by_first.setdefault(p.first, []).append(p)
    return _Group(rank, tuple(_first(f, ps) for f, ps in by_first.items()))


@lru_cache(maxsize=1)
def _index() -> _Index:
    words: dict[str, list[Phrase]] = {}
    substrings: dict[str, list[Phrase]] = {}
    rank: dict[str, int] = {}
    for i, p in enumerate(compile_claims()):
        spaced = all(ord(c) < 0x2E80 for c in p.needle)
        (words if spaced else substrings).setdefault(p.needle, []).append(p)
        rank.setdefault(p.needle, i)
    first = "".join(sorted({n[0] for n in substrings})) or "\x00"
    by_word = {k.encode(): _group(rank[k], v) for k, v in words.items()}
    by_sub = {k: _group(rank[k], v) for k, v in substrings.items()}
    tokens = {f.token for g in list(by_word.values()) + list(by_sub.values()) for f in g.by_first if f.token}
    return _Index(by_word, frozenset(by_word), frozenset(tokens), by_sub, re.compile(f"[{re.escape(first)}]"))


@lru_cache(maxsize=8192)
def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"             # what \w matches in a str pattern


@lru_cache(maxsize=1024)
def _non_word_chars(chars: frozenset[str]) -> tuple[str, ...]:
    """The non-ASCII non-word characters that lower-casing `chars` (a text's non-ASCII characters)
    can put in the lower-cased text: lower() maps character by character (final sigma aside, and
    both sigmas are word characters)."""
    return tuple(sorted({ch for c in chars for ch in c.lower() if not ch.isascii() and not _is_word_char(ch)}))


@lru_cache(maxsize=8)
def _either(a: frozenset[bytes], b: frozenset[bytes]) -> frozenset[bytes]:
    return a | b


def _tokens_among(text: str, low: str, wanted: frozenset[bytes],
                  first_words: frozenset[bytes] = frozenset()) -> tuple[set[bytes], set[bytes] | None]:
    r"""(the members of `wanted` that occur as whole \w+ tokens of `low`, the same tokens as
    _TOKEN.findall(low); the members of `first_words` that occur as whole runs of _L characters,
    or None when a non-ASCII word character outside _L makes that too costly to tell), UTF-8.
    Tokens come from blanking every non-word character and splitting."""
    glued = False
    if not low.isascii():
        for c in _non_word_chars(non_ascii(text)):     # "★", "—", "：" ... (str.replace: a C loop each)
            low = low.replace(c, " ")
        glued = _has_glue(non_ascii(text))
    spaced = low.encode("utf-8", "surrogatepass").translate(_NON_WORD)
    if glued:
        return set(wanted.intersection(spaced.split())), None
    if b"_" in spaced:                                 # "_" is a word character but not in _L
        return (set(wanted.intersection(spaced.split())),
                set(first_words.intersection(spaced.replace(b"_", b" ").split())))
    hits = _either(wanted, first_words).intersection(spaced.split())   # one pass over the words
    return hits & wanted, hits & first_words


@lru_cache(maxsize=1024)
def _has_glue(chars: frozenset[str]) -> bool:
    """Can lower-casing these (a text's non-ASCII characters) give a word character outside _L?"""
    return any(_is_word_char(ch) and not _IN_L.fullmatch(ch) for c in chars for ch in c.lower())


def _groups(text: str, low: str) -> tuple[list[_Group], set[bytes] | None]:
    """The phrase groups whose needle occurs in the text, in config order, and the groups' first
    words that occur as whole runs of _L letters (None: unknown, search every first word)."""
    ix = _index()
    tokens, firsts = _tokens_among(text, low, ix.word_set, ix.first_tokens)
    found = [ix.words[t] for t in tokens]
    if not text.isascii() and ix.cjk_first.search(low):
        found.extend(g for needle, g in ix.substrings.items() if needle in low)
    found.sort(key=lambda g: g.rank)
    return found, firsts


@per_text   # shared by the finders of one extract_signals call
def _scan(text: str) -> tuple[tuple[str, Hit], ...]:
    """All claim hits of every type, computed once per text; per type the longest match at a start wins.

    A phrase's regex is only tried where its first word occurs (str.find), and only when its needle
    is one of the text's words, so a listing costs one tokenisation plus a few anchored matches."""
    best: dict[tuple[str, int], tuple[str, Hit]] = {}
    low = lowered(text)
    aligned = len(low) == len(text)        # lower() never shrinks; same length => same offsets
    groups, tokens = _groups(text, low)
    for group in groups:
        for f in group.by_first:
            if aligned and tokens is not None and f.token is not None and f.token not in tokens:
                continue                   # its first word is not one of the text's words
            first, phrases = f.first, f.phrases
            at_low = at_text = None
            for p in phrases:
                if p.case_sensitive:
                    if at_text is None:
                        at_text = occurrences(text, first) if f.probe in text else []
                    matches = _matches(p.regex, text, at_text) if at_text else ()
                elif aligned:
                    if at_low is None:
                        at_low = occurrences(low, first) if f.probe in low else []
                        if at_low and f.union is not None:
                            at_low = [i for i in at_low if f.union.match(low, i)]
                        if not at_low and not any(q.case_sensitive for q in phrases):
                            break          # no phrase of the group can match in the text
                    matches = _matches(p.regex, low, at_low) if at_low else ()
                else:
                    matches = p.regex_i.finditer(text)
                for m in matches:
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
