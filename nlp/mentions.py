"""Substance mentions that are not offers: "no fentanyl", "THC-free", "tested negative with fentanyl strips".

A listing names substances it does not sell: what its product lacks and what a test looks for. Such a
mention is dropped from the substances on offer (which search facets and flags read) and explained.
Harm-reduction products ("fentanyl test strips", "Marquis reagent kit", "naloxone") name only what they
detect or the overdose they reverse. Rules are
data: nlp/data/mentions.yaml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nlp.datafile import compile_regex, read_yaml


DEFAULT_PATH = Path(__file__).parent / "data" / "mentions.yaml"
BEFORE = 48          # characters before a name that a `before` cue may span
AFTER = 48


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str                               # "said to be absent", "what a test looks for"
    before: re.Pattern | None
    after: re.Pattern | None
    substances: frozenset[str] | None       # None: any substance


@dataclass
class MentionRules:
    rules: list[Rule]
    join: re.Pattern | None
    list_join: re.Pattern | None
    products: list[tuple[str, re.Pattern]]      # (kind, title regex) of harm-reduction products

    @classmethod
    def load(cls, path: str | Path | None = None) -> "MentionRules":
        p, data = read_yaml(path or DEFAULT_PATH, "mention rules")

        def rx(value, where: str) -> re.Pattern | None:
            return compile_regex(value, p, where)

        rules = []
        for i, r in enumerate(data.get("rules") or []):
            where = f"rules[{i}]"
            if not isinstance(r, dict) or not r.get("kind") or not (r.get("before") or r.get("after")):
                raise ValueError(f"{p}: {where}: needs `kind` and `before` or `after`")
            subs = r.get("substances")
            rules.append(Rule(str(r["kind"]), rx(r.get("before"), f"{where}.before"),
                              rx(r.get("after"), f"{where}.after"),
                              frozenset(map(str, subs)) if subs else None))
        products = []
        for i, r in enumerate(data.get("products") or []):
            where = f"products[{i}]"
            if not isinstance(r, dict) or not r.get("kind") or not r.get("title"):
                raise ValueError(f"{p}: {where}: needs `kind` and `title`")
            alts = "|".join(f"(?:{x})" for x in r["title"])
            products.append((str(r["kind"]), rx(rf"(?<![^\W_])(?:{alts})(?![^\W_])", f"{where}.title")))
        return cls(rules, rx(data.get("join"), "join"), rx(data.get("list_join"), "list_join"), products)

    def not_offered(self, norm_text: str, start: int, end: int, substance_id: str
                    ) -> tuple[str, str, int, int] | None:
        """(kind, cue words, cue span) when the substance named at [start, end) of the normalized text is
        said to be absent or is what a test looks for, else None."""
        lo = max(0, start - BEFORE)
        head, tail = norm_text[lo:start], norm_text[end:end + AFTER]
        for r in self.rules:
            if r.substances is not None and substance_id not in r.substances:
                continue
            if r.before is not None:
                m = r.before.search(head)
                if m:
                    return r.kind, m.group(0).strip(), lo + m.start(), lo + m.end()
            if r.after is not None:
                m = r.after.match(tail)
                if m:
                    return r.kind, m.group(0).strip(), end + m.start(), end + m.end()
        return None

    def listed_with(self, norm_text: str, spans: list[tuple[int, int]], i: int) -> bool:
        """Is the name at spans[i] in one list with the name before it ("no THC or CBD"; "MDMA, MDA
        and amphetamine")? A comma counts only when a conjunction later closes the list."""
        gap = norm_text[spans[i - 1][1]:spans[i][0]]
        if self.join is not None and self.join.match(gap):
            return True
        if self.list_join is None or not self.list_join.match(gap):
            return False
        for k in range(i + 1, len(spans)):
            gap = norm_text[spans[k - 1][1]:spans[k][0]]
            if self.join is not None and self.join.match(gap):
                return True
            if not self.list_join.match(gap):
                return False
        return False

    def product(self, norm_title: str) -> tuple[str, str] | None:
        """(kind, words) when the title names a harm-reduction product ("fentanyl test strips", "naloxone
        nasal spray"), else None."""
        for kind, rx in self.products:
            m = rx.search(norm_title)
            if m:
                return kind, m.group(0)
        return None
