"""Claims vendors make: customs evasion, stealth shipping, safe delivery, no prescription, RC use.

The phrases are data (config/claims.yaml); this module only compiles them. Matching is
case-insensitive (unless a rule says otherwise), word-bounded for Latin/Cyrillic words, unbounded
for Chinese, and any run of spaces or hyphens between words matches. Each phrase becomes one
regex guarded by its longest literal word: a phrase's regex only runs when that word occurs in the
lower-cased text, so a listing with no claim words costs one substring test per distinct word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import yaml

from . import Hit, signal
from nlp.signals.context import lowered, non_ascii, occurrences, per_text, rarest

CLAIM_TYPES = ("customs_evasion", "stealth_shipping", "safe_delivery", "no_prescription", "research_chemical")
_L = r"0-9A-Za-z\u00C0-\u024F\u0400-\u04FF"          # letters that form words (CJK does not)
_END = rf"(?:(?![{_L}])|(?<![{_L}]))"
_JOIN = r"[\s\-]+"
_ARTICLE = r"(?!(?:a|an|the|it)(?![A-Za-z]))"


class ClaimsConfigError(ValueError):
    """config/claims.yaml is malformed; the message names the file, the type and the rule."""


@dataclass(frozen=True)
class Phrase:
    type: str
    rule: str
    value: str
    confidence: float
    needle: str
    regex: re.Pattern           # runs on text.lower() (or on the text itself when case_sensitive)
    regex_i: re.Pattern         # IGNORECASE fallback for the rare text whose lower() changes length
    case_sensitive: bool = False
    not_preceded_by: tuple[str, ...] = ()     # lowercase words that cancel the match just before it
    first: str = ""             # the literal every match starts with (lower-case unless case_sensitive)


def _config_path() -> Path:
    from index.settings import CONFIG_DIR
    return Path(CONFIG_DIR) / "claims.yaml"


def _words(phrase: str) -> list[str]:
    return [w for w in re.split(r"[\s\-]+", phrase.strip()) if w]


def _phrase_regex(phrase: str, countries: str, not_followed: str, fold: bool) -> str:
    """Regex for one phrase. With `fold` it runs on lower-cased text without re.I, and it starts with
    a literal character (the left word boundary is checked just after it): both keep sre on its fast
    literal-search path, about 20x faster than an IGNORECASE pattern opening with a lookbehind."""
    parts = []
    for w in _words(phrase):
        if w == "<country>":
            parts.append(f"(?P<country>{countries})")
        elif w == "<word>":
            parts.append(rf"{_ARTICLE}(?P<word>[A-Za-z]{{2,20}})")
        else:
            parts.append(re.escape(w.lower() if fold else w))
    body = _JOIN.join(parts)
    first = phrase.strip()[0].lower() if fold else phrase.strip()[0]
    if re.match(rf"[{_L}]", first):
        esc = re.escape(first)
        assert body.startswith(esc)
        start = esc + rf"(?<![{_L}]{esc})"
        body = body[len(esc):]
    else:
        start = ""                         # a CJK or symbol first character needs no boundary
    return start + body + _END + not_followed


def _needle(phrase: str) -> str:
    """The phrase's longest word (\\w+ token, lowercase): the phrase can only match if it occurs."""
    literal = " ".join(w for w in _words(phrase) if w not in ("<country>", "<word>"))
    return max(re.findall(r"\w+", literal.lower()), key=len)


def compile_claims(path: Path | None = None) -> list[Phrase]:
    """Load and compile the claim rules; raises ClaimsConfigError naming the bad entry."""
    path = path or _config_path()
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ClaimsConfigError(f"{path}: cannot read claim phrases: {exc}") from exc
    if not isinstance(data, dict):
        raise ClaimsConfigError(f"{path}: expected a mapping of claim types")
    unknown = set(data) - set(CLAIM_TYPES) - {"countries"}
    if unknown:
        raise ClaimsConfigError(f"{path}: unknown claim type(s) {sorted(unknown)}; expected {CLAIM_TYPES}")
    countries = data.get("countries") or []
    if not isinstance(countries, list) or not all(isinstance(c, str) and c.strip() for c in countries):
        raise ClaimsConfigError(f"{path}: countries must be a list of names")
    country_alt = "|".join(_JOIN.join(map(re.escape, _words(c)))
                           for c in sorted(countries, key=len, reverse=True))
    out: list[Phrase] = []
    for type_ in CLAIM_TYPES:
        rules = data.get(type_) or []
        if not isinstance(rules, list):
            raise ClaimsConfigError(f"{path}: {type_}: expected a list of rules")
        for i, rule in enumerate(rules):
            where = f"{path}: {type_}[{i}]"
            if not isinstance(rule, dict):
                raise ClaimsConfigError(f"{where}: expected a mapping with id, value, phrases")
            where += f" ({rule.get('id', '?')})"
            extra = set(rule) - {"id", "value", "confidence", "phrases", "case_sensitive", "not_followed_by",
                                 "not_preceded_by"}
            if extra:
                raise ClaimsConfigError(f"{where}: unknown field(s) {sorted(extra)}")
            rid, value, phrases = rule.get("id"), rule.get("value"), rule.get("phrases")
            conf = rule.get("confidence", 0.8)
            if not isinstance(rid, str) or not re.fullmatch(r"[a-z0-9_]+", rid):
                raise ClaimsConfigError(f"{where}: id must be lowercase letters, digits, underscores")
            if not isinstance(value, str) or not value:
                raise ClaimsConfigError(f"{where}: value must be a non-empty string")
            if not isinstance(conf, (int, float)) or not 0 < conf <= 1:
                raise ClaimsConfigError(f"{where}: confidence must be in (0, 1]")
            if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) for p in phrases):
                raise ClaimsConfigError(f"{where}: phrases must be a non-empty list of strings")
            stop = rule.get("not_followed_by") or []
            not_followed = ""
            if stop:
                alt = "|".join(re.escape(s) for s in sorted(stop, key=len, reverse=True))
                not_followed = rf"(?!(?i:{_JOIN}(?:{alt})(?![{_L}])))"
            before = rule.get("not_preceded_by") or []
            if not isinstance(before, list) or not all(isinstance(w, str) and w.strip() for w in before):
                raise ClaimsConfigError(f"{where}: not_preceded_by must be a list of words")
            for phrase in phrases:
                if not _words(phrase) or not [w for w in _words(phrase) if not w.startswith("<")]:
                    raise ClaimsConfigError(f"{where}: phrase {phrase!r} has no literal word")
                for ph in re.findall(r"<[^>]*>", phrase):
                    if ph not in ("<country>", "<word>"):
                        raise ClaimsConfigError(f"{where}: unknown placeholder {ph} in {phrase!r}")
                if _words(phrase)[0].startswith("<"):
                    raise ClaimsConfigError(f"{where}: phrase {phrase!r} must start with a literal word")
                cs = bool(rule.get("case_sensitive"))
                try:
                    regex = re.compile(_phrase_regex(phrase, country_alt.lower(), not_followed, not cs))
                    regex_i = re.compile(_phrase_regex(phrase, country_alt, not_followed, False),
                                         0 if cs else re.I)
                except re.error as exc:
                    raise ClaimsConfigError(f"{where}: phrase {phrase!r} does not compile: {exc}") from exc
                first = _words(phrase)[0]
                out.append(Phrase(type_, f"claim.{rid}", value, float(conf), _needle(phrase),
                                  regex, regex_i, cs, tuple(w.lower() for w in before),
                                  first if cs else first.lower()))
    return out


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
    find.__doc__ = f"{type_} claims from config/claims.yaml"
    return find


for _type in CLAIM_TYPES:
    signal(_type)(_finder(_type))
