"""Context disambiguation: does this "ice" / "snow" / "speed" / "molly" mean a drug here?

An ambiguous surface form (marked in the lexicon) counts only when the listing reads like a drug
offer (another, unambiguous substance; a quantity, unit or price; market words like "pure", "uncut",
"stealth") and no negative collocation sits next to it ("ice cream", "snow tires", "high speed",
"speed boat"). Fuzzy (misspelt) matches need the same drug context. Rules are data:
nlp/data/context.yaml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nlp.datafile import compile_regex, read_yaml
from nlp.normalize import fold

DEFAULT_PATH = Path(__file__).parent / "data" / "context.yaml"


def _phrase_regex(words) -> re.Pattern | None:
    folded = sorted({fold(str(w)).strip() for w in words if str(w).strip()}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in folded) + r")(?![^\W_])")


def _regex(data: dict, key: str, path: Path) -> re.Pattern | None:
    return compile_regex(data.get(key), path, key)


@dataclass
class ContextRules:
    drug_words: re.Pattern | None
    quantity: re.Pattern
    negative: dict[str, frozenset[str]]
    window: int
    negative_topics: re.Pattern | None
    unit_token: re.Pattern | None = None
    local_words: frozenset[str] = frozenset()
    local_window: int = 3
    implied: list | None = None
    dominant: frozenset[str] = frozenset()
    proper_name_after: re.Pattern | None = None
    weak: frozenset[str] = frozenset()
    everyday: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ContextRules":
        p, data = read_yaml(path or DEFAULT_PATH, "context rules")
        negative = {fold(str(k)).strip() if k != "*" else "*": frozenset(fold(str(w)).strip() for w in v or ())
                    for k, v in (data.get("negative") or {}).items()}
        return cls(
            drug_words=_phrase_regex(data.get("drug_words") or ()),
            quantity=re.compile(data.get("quantity_pattern") or r"$^", re.IGNORECASE),
            negative=negative,
            window=int(data.get("window", 2)),
            negative_topics=_phrase_regex(data.get("negative_topics") or ()),
            unit_token=re.compile(data["unit_token"]) if data.get("unit_token") else None,
            local_words=frozenset(fold(str(w)).strip() for w in data.get("local_words") or ()),
            local_window=int(data.get("local_window", 3)),
            dominant=frozenset(fold(str(w)).strip() for w in data.get("dominant_slang") or ()),
            proper_name_after=_regex(data, "proper_name_after", p),
            weak=frozenset(str(x) for x in data.get("weak_substances") or ()),
            everyday=frozenset(fold(str(w)).strip() for w in data.get("everyday_phrases") or ()),
            implied=[{"substance": str(spec["substance"]),
                      "confidence": float(spec.get("confidence", 0.6)),
                      "unit": re.compile(spec["unit"]),
                      "words": _phrase_regex(spec.get("words") or ()),
                      "negative": _phrase_regex(spec.get("negative") or ())}
                     for spec in (data.get("implied") or [])],
        )

    def implied_substance(self, norm_text: str) -> tuple[str, float, tuple[int, int], str] | None:
        """(substance id, confidence, normalized span of the unit, the market word) when the text sells
        by a unit typical of one substance and uses its market words, with no negative word."""
        for spec in self.implied or ():
            u = spec["unit"].search(norm_text)
            if not u:
                continue
            word = u.group(0)
            if spec["words"] is not None:
                w = spec["words"].search(norm_text)
                if not w:
                    continue
                word = w.group(0)
            if spec["negative"] is not None and spec["negative"].search(norm_text):
                continue
            return spec["substance"], spec["confidence"], (u.start(), u.end()), word
        return None

    def proper_name(self, norm_text: str, end: int) -> str | None:
        """The company/brand suffix that makes the word ending at `end` part of a name ("Molly & Co.")."""
        if self.proper_name_after is None:
            return None
        m = self.proper_name_after.match(norm_text[end:end + 24])
        return m.group(0).strip() if m else None

    def local(self, toks: list[str], i: int, j: int, whole: bool = False) -> str | None:
        """A drug quantity ("0.5g", "grams", "tabs") or market word ("uncut", "pure") within
        `local_window` tokens of tokens [i, j) (anywhere when `whole`), else None."""
        if whole:
            lo, hi = 0, len(toks)
        else:
            lo, hi = max(0, i - self.local_window), min(len(toks), j + self.local_window)
        words, unit = self.local_words, self.unit_token
        for k in range(lo, hi):
            if i <= k < j:
                continue
            w = toks[k]
            if w in words or (unit is not None and unit.match(w)):
                return w
        return None

    def market_context(self, norm_texts: list[str]) -> str | None:
        """The first quantity/price or market word found in the listing's normalized fields, else None."""
        for t in norm_texts:
            m = self.quantity.search(t)
            if m:
                return m.group(0)
        if self.drug_words is not None:
            for t in norm_texts:
                m = self.drug_words.search(t)
                if m:
                    return m.group(0)
        return None

    def negative_topic(self, norm_texts: list[str]) -> str | None:
        if self.negative_topics is None:
            return None
        for t in norm_texts:
            m = self.negative_topics.search(t)
            if m:
                return m.group(0)
        return None

    def collocation(self, form_key: str, toks: list[str], i: int, j: int) -> str | None:
        """A negative neighbour of tokens [i, j) (e.g. "cream" after "ice"), else None."""
        specific = self.negative.get(form_key, frozenset())
        for variant in (form_key + "s", form_key[:-1] if form_key.endswith("s") else ""):
            specific = specific | self.negative.get(variant, frozenset())   # "pearl" / "pearls"
        for part in form_key.split()[1:] if " " in form_key else ():
            specific = specific | self.negative.get(part, frozenset())   # "diet coke": coke's too
        if " " in form_key:
            specific = specific | self.negative.get(form_key.split()[0], frozenset())
        generic = self.negative.get("*", frozenset())
        lo, hi = max(0, i - self.window), min(len(toks), j + self.window)
        for k in range(lo, hi):
            if i <= k < j:
                continue
            w = toks[k]
            if w in specific or w in generic:
                return w
            if w.endswith("s") and (w[:-1] in specific or w[:-1] in generic):
                return w
        return None
