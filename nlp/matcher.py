"""Substance matching: one pass over the normalised tokens of a text against the lexicon.

The lexicon's surface forms are normalised and tokenised with the same functions as listing text
(nlp.normalize), then indexed by their first token. Each text token is looked up by its keys (raw,
leet-decoded, repeated letters squeezed); multi-token forms are extended token by token, longest
first. Matching is therefore whole-token: "meth" can never fire inside "method".

Beyond exact keys, in this order, each with lower confidence: two adjacent tokens joined ("fent anyl"),
plural/inflection stripped ("blotters", "героина"), and edit distance 1 for long single-word names
("oxycodon", via="fuzzy"). Chinese has no spaces, so forms containing CJK characters are found by
substring (longest first) in CJK runs.

Disambiguation (does "ice" mean meth here?) is not done here but in nlp.context, which needs the
whole listing; this module only reports candidate hits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from nlp.normalize import Normalized, form_tokens, fold, squeeze, token_keys, tokens

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CYR = re.compile(r"^[\u0400-\u04ff]+$")
# What may separate the tokens of a multi-token form: a few spaces/punctuation, never a line break.
_GAP_OK = re.compile(r"[ \t\-./,()'*_:+&]{0,3}")


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
    """A candidate hit: offsets into the normalised text, plus how it matched."""
    form: Form
    start: int
    end: int
    how: str           # raw | leet | repeat | split | joined | plural | stem | fuzzy | cjk
    tok_start: int     # token index range (for context windows); -1 for CJK substring hits
    tok_end: int

    @property
    def confidence(self) -> float:
        return HOW_CONFIDENCE.get(self.how, 0.8)


HOW_CONFIDENCE = {"raw": 1.0, "cjk": 1.0, "split": 0.95, "leet": 0.95, "plural": 0.95, "joined": 0.9,
                  "repeat": 0.9, "stem": 0.9, "fuzzy": 0.75}


class SubstanceMatcher:
    """Index of the lexicon's forms; `find(norm)` returns candidate hits, non-overlapping, leftmost-longest."""

    def __init__(self, forms, *, fuzzy: bool = True, fuzzy_min_len: int = 8, min_form_len: int = 2):
        self.single: dict[str, list[Form]] = {}
        self.multi: dict[str, list[tuple[tuple[str, ...], Form]]] = {}
        self.squeezed: dict[str, list[Form]] = {}
        self.deletes: dict[str, list[tuple[str, Form]]] = {}
        self.fuzzy = fuzzy
        self.fuzzy_min_len = fuzzy_min_len
        cjk_forms: dict[str, Form] = {}
        for sf in forms:
            form = Form(sf.substance_id, sf.text, sf.via, getattr(sf, "lang", "") or "",
                        bool(getattr(sf, "ambiguous", False)))
            folded = fold(sf.text).strip()
            if _CJK.search(folded):
                key = re.sub(r"\s+", "", folded)
                cjk_forms.setdefault(key, form)
                continue
            toks = tuple(form_tokens(sf.text))
            if not toks or len("".join(toks)) < min_form_len:
                continue
            if len(toks) == 1:
                self._add_single(toks[0], form)
            else:
                self.multi.setdefault(toks[0], []).append((toks[1:], form))
                joined = "".join(toks)
                if len(joined) >= 4:
                    self._add_single(joined, form, primary=False)
        for lst in self.multi.values():
            lst.sort(key=lambda x: -len(x[0]))
        if cjk_forms:
            alts = sorted(cjk_forms, key=len, reverse=True)
            self.cjk_re = re.compile("|".join(re.escape(a) for a in alts))
            self.cjk_forms = cjk_forms
        else:
            self.cjk_re = None
            self.cjk_forms = {}

    def _add_single(self, key: str, form: Form, primary: bool = True) -> None:
        lst = self.single.setdefault(key, [])
        if primary or not lst:
            lst.append(form)
            # an unambiguous reading of the same key wins ("cocaina" as synonym and as translation)
            lst.sort(key=lambda f: f.ambiguous)
        sq = squeeze(key)
        if len(sq) >= 5:
            self.squeezed.setdefault(sq, []).append(form)
        if self.fuzzy and len(key) >= self.fuzzy_min_len and key.isalpha():
            for i in range(len(key)):
                self.deletes.setdefault(key[:i] + key[i + 1:], []).append((key, form))

    # --- lookup ------------------------------------------------------------------------------

    def find(self, norm: Normalized) -> tuple[list[Candidate], list]:
        """Candidates in the normalised text, plus the token list (context rules reuse it)."""
        text = norm.text
        toks = tokens(text)
        out: list[Candidate] = []
        n = len(toks)
        i = 0
        single, multi = self.single, self.multi
        while i < n:
            tok, ts, te = toks[i]
            keys = token_keys(tok)
            best = None
            # 1. multi-token forms starting here (longest first), on any key of the first token
            for key, how in keys:
                cands = multi.get(key)
                if not cands:
                    continue
                for rest, form in cands:
                    j = self._extend(text, toks, i, rest)
                    if j and (best is None or j > best[1]):
                        best = (form, j, how)
                        break
            if best is not None:
                form, j, how = best
                out.append(Candidate(form, ts, toks[j - 1][2], how, i, j))
                i = j
                continue
            # 2. two tokens written apart: "fent anyl", "co caine"
            if i + 1 < n and te < toks[i + 1][1] <= te + 1 and text[te] in " -":
                joined = single.get(tok + toks[i + 1][0])
                if joined and len(tok) + len(toks[i + 1][0]) >= 6 and not joined[0].ambiguous:
                    out.append(Candidate(joined[0], ts, toks[i + 1][2], "joined", i, i + 2))
                    i += 2
                    continue
            # 3. the token alone
            hit = self._single(tok, keys)
            if hit is not None:
                form, how = hit
                if te - ts != len(tok) and how == "raw" and len(tok) > 1 and _is_split(text[ts:te]):
                    how = "split"
                out.append(Candidate(form, ts, te, how, i, i + 1))
            i += 1
        if self.cjk_re is not None and _CJK.search(text):
            for m in self.cjk_re.finditer(text):
                out.append(Candidate(self.cjk_forms[m.group(0)], m.start(), m.end(), "cjk", -1, -1))
        return out, toks

    def _extend(self, text, toks, i, rest) -> int:
        """Index after the last token if toks[i+1:] continue with `rest` across small gaps, else 0."""
        j = i + 1
        prev_end = toks[i][2]
        for want in rest:
            if j >= len(toks):
                return 0
            tok, ts, te = toks[j]
            if ts - prev_end > 3 or not _GAP_OK.fullmatch(text, prev_end, ts):
                return 0
            if tok != want and all(k != want for k, _ in token_keys(tok)):
                return 0
            prev_end = te
            j += 1
        return j

    def _single(self, tok: str, keys) -> tuple[Form, str] | None:
        single = self.single
        for key, how in keys:
            forms = single.get(key)
            if forms:
                return forms[0], how
        return self._variant(tok, keys[-1][0] if keys[-1][1] == "leet" else keys[0][0])

    @lru_cache(maxsize=100000)
    def _variant(self, tok: str, key: str) -> tuple[Form, str] | None:
        """Inexact lookups for a token that matched nothing exactly (memoised per token)."""
        single = self.single
        if _REPEATED.search(key):
            forms = self.squeezed.get(squeeze(key))
            if forms and len(key) >= 5:
                return forms[0], "repeat"
        if len(key) >= 4 and key[-1] == "s":
            for cut in (1, 2):
                forms = single.get(key[:-cut])
                if forms and len(key) - cut >= 3:
                    if cut == 2 and key[-2] != "e":
                        break
                    return forms[0], "plural"
        if len(key) >= 5 and _CYR.match(key):
            for cut in (1, 2, 3):
                if len(key) - cut < 4:
                    break
                forms = single.get(key[:-cut])
                if forms:
                    return forms[0], "stem"
        if self.fuzzy and len(key) >= self.fuzzy_min_len - 1 and key.isalpha():
            return self._fuzzy(key)
        return None

    def _fuzzy(self, key: str) -> tuple[Form, str] | None:
        """Edit distance 1 (substitution, insertion, deletion; transposition via two deletes is not
        attempted) against single-word forms of at least `fuzzy_min_len` characters."""
        deletes = self.deletes
        cands = []
        if key in deletes:                       # the text lost one letter
            cands += deletes[key]
        for i in range(len(key)):
            d = key[:i] + key[i + 1:]
            if len(key) >= self.fuzzy_min_len + 1 and d in self.single and len(d) >= self.fuzzy_min_len:
                f = self.single[d][0]
                cands.append((d, f))              # the text has one extra letter
            if d in deletes:                       # one letter substituted
                cands += [(k, f) for k, f in deletes[d] if len(k) == len(key)]
        for k, form in cands:
            if k[0] == key[0] and not form.ambiguous and len(k) >= self.fuzzy_min_len:
                return form, "fuzzy"
        return None


_REPEATED = re.compile(r"([a-z])\1")
_SPLITSEP = re.compile(r"[ \t.\-*_·•]")


def _is_split(surface: str) -> bool:
    return bool(_SPLITSEP.search(surface))
