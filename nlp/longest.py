"""The longest, most specific name wins: a post-filter over the matcher's candidates of one field.

* A name inside a longer name is not reported on its own: "pentedrone" in "4-methyl-pentedrone" (4-MPD),
  "4-piperidone" in "N-(2-phenylethyl)-4-piperidone" (NPP).
* A longer name that starts inside a greedy match beats it: "New PMK ethyl glycidate" is the ethyl
  glycidate, not "new PMK" (the methyl glycidate) plus a stray "ethyl glycidate".
* A salt name is part of the substance's name: 盐酸 in 盐酸赛拉嗪 (xylazine hydrochloride) is not the acid.
* A chemical name built like an NPS name (nlp.nps_grammar) is looked up in the knowledge base with hyphens
  and spaces aside ("4-methyl-pentedrone" -> 4-MPD); a name no row knows becomes the family's
  `unidentified-nps-*` row with the grammar's low confidence, and a note asks for review.

Separate from nlp.matcher on purpose: it reads candidates and the matcher's public `find`, nothing else.
"""
from __future__ import annotations

import re

from nlp.kb import KnowledgeBase
from nlp.candidates import Candidate, Form
from nlp.matcher import SubstanceMatcher
from nlp.normalize import Normalized, Tokens, fold, normalize
from nlp.nps_grammar import GrammarName, NpsGrammar

WINDOW = 8                   # tokens: longer than any multi-token name of the lexicon
_NON_ALNUM = re.compile(r"[^0-9a-z\u00c0-\uffff]+")


def squash(text: str) -> str:
    """The key two spellings of one chemical name share: folded, only letters and digits."""
    return _NON_ALNUM.sub("", fold(text))


class LongestNames:
    """Applies the three rules above to one field's candidates."""

    def __init__(self, matcher: SubstanceMatcher, kb: KnowledgeBase, grammar: NpsGrammar):
        self.matcher = matcher
        self.grammar = grammar
        grammar.check_ids(set(kb.substances))
        owners: dict[str, set[str]] = {}
        forms: dict[str, Form] = {}
        for sf in kb.forms:
            key = squash(sf.text)
            if len(key) < 4 or sf.ambiguous:
                continue
            owners.setdefault(key, set()).add(sf.substance_id)
            forms.setdefault(key, Form(sf.substance_id, sf.text, sf.via, sf.lang, False))
        # a squashed spelling that names one row only
        self.by_squash = {k: forms[k] for k, ids in owners.items() if len(ids) == 1}
        self.family = {fid: Form(fid, kb.substances[fid].canonical, "name", "en", False)
                       for fid, _ in grammar.families}

    def refine(self, norm: Normalized, toks: Tokens, cands: list[Candidate], notes: list[str]) -> list[Candidate]:
        if len(cands) > 0 and any(c.tok_end - c.tok_start >= 2 for c in cands):
            cands = self._extend(norm, toks, cands)
        names = self.grammar.find(norm.text, toks)
        if names:
            cands = self._grammar(norm, toks, cands, names, notes)
        if self.grammar.salt_names is not None and any(c.tok_start < 0 for c in cands):
            cands = [c for c in cands if c.tok_start >= 0 or not self.grammar.is_salt_name(norm.text, c.start, c.end)]
        return self._drop_nested(cands)

    def _extend(self, norm: Normalized, toks: Tokens, cands: list[Candidate]) -> list[Candidate]:
        """Replace a multi-token match by a longer name of another substance that starts at one of its
        inner tokens ("new PMK" + "ethyl glycidate" -> "PMK ethyl glycidate")."""
        out = list(cands)
        starts = getattr(self.matcher, "multi", None)      # first tokens of multi-word names, if indexed
        for idx, c in enumerate(cands):
            if c.tok_end - c.tok_start < 2 or c.tok_start < 0 or c.tok_end >= len(toks.text):
                continue
            for k in range(c.tok_start + 1, c.tok_end):
                if starts is not None and toks.text[k] not in starts:
                    continue              # no multi-word name starts with this token: nothing longer here
                s = toks.start(k)
                # a window of WINDOW tokens from k: a name is never longer, and re-matching stays cheap
                last = min(k + WINDOW, len(toks.text)) - 1
                window = norm.text[s:toks.end(last)]
                sub = normalize(window)
                if sub.text != window:
                    continue
                found, sub_toks = self.matcher.find(sub)
                if sub_toks.text != toks.text[k:last + 1]:
                    continue
                first = next((f for f in found if f.start == 0 and f.tok_start == 0), None)
                if (first is None or first.form.substance_id == c.form.substance_id
                        or s + first.end <= c.end or first.end <= c.end - c.start):
                    continue
                out[idx] = Candidate(first.form, s, s + first.end, first.how, k, k + first.tok_end)
                break
        if out == cands:
            return cands
        kept: list[Candidate] = []
        for c in sorted(out, key=lambda c: (c.start - c.end, c.start)):
            if all(c.end <= o.start or o.end <= c.start for o in kept if o.tok_start >= 0) or c.tok_start < 0:
                kept.append(c)
        return sorted(kept, key=lambda c: c.start)

    def _grammar(self, norm: Normalized, toks: Tokens, cands: list[Candidate], names: list[GrammarName],
                 notes: list[str]) -> list[Candidate]:
        out = list(cands)
        for g in names:
            if any(c.start <= g.start and g.end <= c.end for c in out):
                continue                      # a knowledge-base name covers it already
            if any(c.start < g.end and g.start < c.end and c.end - c.start > g.end - g.start for c in out):
                continue                      # a longer knowledge-base name overlaps it
            text = norm.text[g.start:g.end]
            t0, t1 = _token_range(toks, g.start, g.end)
            known = self.by_squash.get(squash(text))
            if known is not None:
                cand = Candidate(known, g.start, g.end, "joined", t0, t1)
            else:
                fam = self.family[g.family_id]
                cand = Candidate(fam, g.start, g.end, "grammar", t0, t1)
                notes.append(f"{text!r} read as {fam.surface}: built like an NPS name but in no knowledge-base "
                             f"row; class guessed from the family, identity for review")
            out = [c for c in out if c.end <= g.start or g.end <= c.start] + [cand]
        return sorted(out, key=lambda c: c.start)

    @staticmethod
    def _drop_nested(cands: list[Candidate]) -> list[Candidate]:
        """A candidate strictly inside another one's span is part of that name, not a name of its own."""
        if len(cands) < 2:
            return cands
        keep = [c for c in cands
                if not any(o is not c and o.start <= c.start and c.end <= o.end and o.end - o.start > c.end - c.start
                           for o in cands)]
        return keep if len(keep) != len(cands) else cands


def _token_range(toks: Tokens, start: int, end: int) -> tuple[int, int]:
    """Token indexes [first, last+1) that lie within the normalized span [start, end)."""
    first = last = -1
    for i in range(len(toks.text)):
        a, b = toks.start(i), toks.end(i)
        if b <= start:
            continue
        if a >= end:
            break
        if first < 0:
            first = i
        last = i
    return (first, last + 1) if first >= 0 else (-1, -1)
