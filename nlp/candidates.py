"""What the substance matcher (nlp/matcher.py) indexes and finds: lexicon forms and candidate hits, with
the confidence of each way of matching. Shared by the matcher, the longest-name filter (nlp/longest.py) and
the substance component."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Form:
    """One lexicon surface form, as indexed."""
    substance_id: str
    surface: str
    via: str
    lang: str
    ambiguous: bool


@dataclass(slots=True)
class Candidate:
    """A candidate hit: offsets into the normalized text, plus how it matched."""
    form: Form
    start: int
    end: int
    how: str           # raw | leet | split | repeat | joined | plural | stem | fuzzy | cjk
    tok_start: int     # token index range (context windows); -1 for CJK substring hits
    tok_end: int

    @property
    def confidence(self) -> float:
        return HOW_CONFIDENCE.get(self.how, 0.8)


HOW_CONFIDENCE = {"glued": 0.95, "raw": 1.0, "cjk": 1.0, "split": 0.95, "leet": 0.95, "plural": 0.95, "joined": 0.9,
                  "repeat": 0.9, "stem": 0.9, "fuzzy": 0.75,
                  "grammar": 0.5}   # an NPS name no lexicon row lists (nlp.longest): a family guess
