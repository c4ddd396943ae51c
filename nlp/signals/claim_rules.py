"""The claim rules of nlp/data/claims.yaml, compiled: one regex per phrase (nlp.signals.claims scans them).

Matching is case-insensitive (unless a rule says otherwise), word-bounded for Latin/Cyrillic words,
unbounded for Chinese, and any run of spaces or hyphens between words matches. A phrase counts only
when its longest literal word (its needle) is one of the text's words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nlp.datafile import read_yaml


CLAIM_TYPES = ("customs_evasion", "stealth_shipping", "safe_delivery", "no_prescription", "research_chemical")
_L = r"0-9A-Za-z\u00C0-\u024F\u0400-\u04FF"          # letters that form words (CJK does not)
_END = rf"(?:(?![{_L}])|(?<![{_L}]))"
_JOIN = r"[\s\-]+"
_ARTICLE = r"(?!(?:a|an|the|it)(?![A-Za-z]))"


class ClaimsConfigError(ValueError):
    """nlp/data/claims.yaml is malformed; the message names the file, the type and the rule."""


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
    words: int = 1              # how many words (placeholders included): after the first, [\s\-]+ follows


def _config_path() -> Path:
    return Path(str(resources.files("nlp") / "data" / "claims.yaml"))     # package data


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
    try:
        path, data = read_yaml(path or _config_path(), "claim phrases")
    except ValueError as exc:
        raise ClaimsConfigError(str(exc)) from None
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
                                  first if cs else first.lower(), len(_words(phrase))))
    return out
