"""Substance matching: one pass over the normalized tokens of a text against the lexicon.

The lexicon's surface forms are normalized and tokenised with the same functions as listing text
(nlp.normalize) and indexed by their first token. Matching is whole-token, so "meth" can never fire
inside "method". A text token is looked up by its keys: raw, and leet-decoded when a digit or @/$
sits inside letters. Multi-token forms extend token by token across small gaps, longest first.

Inexact readings, each with lower confidence: plural and Russian case endings (indexed up front),
repeated letters squeezed ("fentanyyyl"), two tokens written apart ("fent anyl"), and edit distance 1
for long single-word names ("oxycodon", via="fuzzy"). Chinese has no spaces, so forms containing CJK
characters are found by substring, longest first.

Speed: the text is scanned with a few C-level passes (split, set membership); Python only touches
tokens that can start a match. Disambiguation (does "ice" mean meth here?) is nlp.disambiguation's job.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from nlp.candidates import Candidate, Form
from nlp.normalize import Normalized, Tokens, form_tokens, fold, squeeze, token_keys, tokens

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WS = re.compile(r"\s+")
_CYR = re.compile(r"^[\u0400-\u04ff]+$")
# What may separate the tokens of a multi-token form: a few spaces/punctuation, never a line break.
_GAP_OK = re.compile(r"[ \t\-./,()'*_:+&]{0,3}")
# A digit or @/$ inside or at the edge of letters: the only tokens worth leet-decoding.
_LEET_TEXT = re.compile(r"[a-z][013457@$]+[a-z]|(?<![\w@$])[013457@$][a-z]{3,}|[a-z]{3,}[013457@$](?![\w@$])")
_GLUED = re.compile(r"\d+(?:mg|mcg|ug|gr|g|kg|oz|ml|x)?(?=[a-z])")
_DOUBLE = re.compile(r"([a-z])\1")
_REPEAT = re.compile(r"([a-z])\1+")
RU_ENDINGS = ("а", "у", "е", "ом", "ой", "ы", "ов", "ами", "ах", "и", "ю", "ем")
PLURAL = ("s", "es")


def _cjk_pattern(form: str) -> str:
    """Regex for a CJK form; a space may separate a Latin/digit part from a CJK part ("PMK 缩水...")."""
    out = []
    for i, ch in enumerate(form):
        if i and bool(_CJK.match(ch)) != bool(_CJK.match(form[i - 1])):
            out.append(r"\s?")
        out.append(re.escape(ch))
    return "".join(out)


class SubstanceMatcher:
    """Index of the lexicon's forms; `find(norm)` returns candidates, non-overlapping, leftmost-longest."""

    def __init__(self, forms, *, fuzzy: bool = True, fuzzy_min_len: int = 8, min_form_len: int = 2):
        self.single: dict[str, list[tuple[Form, str]]] = {}     # key -> [(form, how)] best first
        # first token -> second token -> [(remaining tokens, form)], longest first
        self.multi: dict[str, dict[str, list[tuple[tuple[str, ...], Form]]]] = {}
        self.squeezed: dict[str, Form] = {}
        self.deletes: dict[str, list[tuple[str, Form]]] = {}
        self.fuzzy = fuzzy
        self.fuzzy_min_len = fuzzy_min_len
        cjk_forms: dict[str, Form] = {}
        variants: list[tuple[str, Form, str]] = []
        for sf in forms:
            form = Form(sf.substance_id, sf.text, sf.via, getattr(sf, "lang", "") or "",
                        bool(getattr(sf, "ambiguous", False)))
            folded = fold(sf.text).strip()
            if _CJK.search(folded):
                cjk_forms.setdefault(re.sub(r"\s+", "", folded), form)
                continue
            toks = tuple(form_tokens(sf.text))
            if not toks or len("".join(toks)) < min_form_len:
                continue
            if len(toks) == 1:
                key = toks[0]
                self._add(key, form, "raw")
                if len(key) >= 3 and not key[-1].isdigit():
                    if _CYR.match(key):
                        variants += [(key + e, form, "stem") for e in RU_ENDINGS]
                    elif key[-1] != "s":
                        variants += [(key + e, form, "plural") for e in PLURAL]
                sq = squeeze(key)
                if len(sq) >= 5:
                    self.squeezed.setdefault(sq, form)
                # misspellings of slang are mostly slang misspellings already ("cannabioids"): one more
                # edit would reach real words ("cannabinoids"), so fuzzy readings target names only
                if fuzzy and len(key) >= fuzzy_min_len and key.isalpha() and form.via != "slang":
                    for i in range(len(key)):
                        self.deletes.setdefault(key[:i] + key[i + 1:], []).append((key, form))
            else:
                self._add_multi(toks, form)
                joined = "".join(toks)
                if len(joined) >= 4:
                    variants.append((joined, form, "raw"))
                last = toks[-1]
                if len(last) >= 3 and last.isalpha() and last[-1] != "s" and not _CYR.match(last):
                    self._add_multi(toks[:-1] + (last + "s",), form)
        for key, form, how in variants:          # variants never shadow a real form
            if key not in self.single:
                self._add(key, form, how)
        for by_second in self.multi.values():
            for lst in by_second.values():
                lst.sort(key=lambda x: -len(x[0]))
        for lst in self.single.values():          # an unambiguous reading of a key wins
            lst.sort(key=lambda fh: fh[0].ambiguous)
        self.first = frozenset(self.single) | frozenset(self.multi)
        # left parts of names written in two pieces ("fent anyl"): prefixes of single-word names >= 6
        self.left_halves = frozenset(k[:i] for k, fl in self.single.items()
                                     if len(k) >= 6 and fl[0][1] == "raw" and not fl[0][0].ambiguous
                                     for i in range(2, len(k) - 1))
        # left half -> the right parts that complete it to a name (so a text is searched for joined
        # readings only when a completing right part occurs in it at all)
        self.right_of: dict[str, set[str]] = {}
        for k, fl in self.single.items():
            if fl[0][1] == "raw" and not fl[0][0].ambiguous:
                for i in range(2, len(k)):
                    if k[:i] in self.left_halves:
                        self.right_of.setdefault(k[:i], set()).add(k[i:])
        self._seen: set[str] = set()                           # tokens examined once
        self._variants: dict[str, tuple[Form, str]] = {}       # token -> inexact reading
        self._leet: set[str] = set()                            # tokens whose leet reading starts a form
        # first tokens that can only start a multi-word form ("the" of "the toad", "10" of "10 panel")
        self.multi_only = frozenset(k for k in self.multi if k not in self.single)
        # tokens whose lookup keys are not just the token itself (leet readings, "$peed" -> "speed"):
        # token -> its keys; the lexicon's own first tokens up front, text tokens as they are learned
        self._first_keys = {t: ks for t in self.first if (ks := self._other_keys(t))}
        self._keys: dict[str, tuple[str, ...]] = dict(self._first_keys)
        self._odd: set[str] = set(self._keys)             # the same tokens, as a set (C set algebra)
        self.seconds = {k: frozenset(v) for k, v in self.multi.items() if k in self.multi_only}
        # one set per question, so a text needs one set operation each: every token worth visiting
        # (first tokens, left halves, learned leet/inexact readings), and every token already examined
        self._look: set[str] = set(self.first) | self.left_halves
        self._known: set[str] = set(self.first)
        self.cjk_forms = cjk_forms
        self.cjk_re = (re.compile("|".join(_cjk_pattern(a) for a in sorted(cjk_forms, key=len, reverse=True)))
                       if cjk_forms else None)

    def _add_multi(self, toks: tuple[str, ...], form: Form) -> None:
        self.multi.setdefault(toks[0], {}).setdefault(toks[1], []).append((toks[2:], form))

    def _add(self, key: str, form: Form, how: str) -> None:
        lst = self.single.setdefault(key, [])
        if all(f.substance_id != form.substance_id or f.ambiguous != form.ambiguous for f, _ in lst):
            lst.append((form, how))

    # --- lookup ------------------------------------------------------------------------------

    def find(self, norm: Normalized) -> tuple[list[Candidate], Tokens]:
        """Candidates in the normalized text, plus its tokens (context rules reuse them).

        Which tokens can start a match is decided with set algebra in C: exact keys, plus tokens
        remembered from earlier texts as leet/repeat/misspelt readings (each distinct token is
        examined in Python once, bounded memory). Only those positions are visited."""
        text = norm.text
        tk = tokens(text)
        toks = tk.text
        out: list[Candidate] = []
        if toks:
            tokset = set(toks)
            new = tokset - self._known
            if new:
                self._learn(new)
            look = tokset & self._look
            halves = look & self.left_halves
            if halves:                # a left half ("fent") may start a match by itself too ("crystal")
                first, leet, variants = self.first, self._leet, self._variants
                hot = look - {t for t in halves if t not in first and t not in leet and t not in variants}
                right_of = self.right_of
                halves = {t for t in halves if t in right_of and not right_of[t].isdisjoint(tokset)}
            else:
                hot = look
            mo = hot & self.multi_only
            if mo:
                self._drop_dead_starts(hot, mo, halves, tokset)
            if hot or halves or tk.split:
                self._scan(text, tk, hot, halves, out)
        if self.cjk_re is not None and not text.isascii() and _CJK.search(text):
            cjk = [Candidate(self.cjk_forms[_WS.sub("", m.group(0))], m.start(), m.end(), "cjk", -1, -1)
                   for m in self.cjk_re.finditer(text)]
            if cjk:   # "PMK缩水甘油酸乙酯" is the glycidate, not PMK: drop token hits inside a CJK hit
                out = [c for c in out if not any(k.start <= c.start and c.end <= k.end for k in cjk)] + cjk
        return out, tk

    @staticmethod
    def _other_keys(t: str) -> tuple[str, ...]:
        keys = token_keys(t)
        return tuple(k for k, _ in keys) if len(keys) > 1 or keys[0][0] != t else ()

    def _drop_dead_starts(self, hot: set[str], mo: set[str], halves: set[str], tokset: set[str]) -> None:
        """Remove from `hot` the first tokens of multi-word forms whose possible second tokens do not
        occur in this text at all (set algebra, no positions): "the", "10", "uk" start forms but are
        almost never followed by the rest. Exact: a second token matches by one of its keys."""
        odd = tokset & self._odd
        keyset = tokset.union(*(self._keys[x] for x in odd)) if odd else tokset
        seconds = self.seconds
        for t in mo:
            if t in odd:
                continue              # (a left half "the" stays visited through `halves`)
            if keyset.isdisjoint(seconds[t]):
                hot.discard(t)

    def _learn(self, new: set[str]) -> None:
        """Examine tokens never seen before: leet readings that start a form, inexact readings."""
        if len(self._known) > 500000 + len(self.first):
            self._seen.clear()
            self._variants.clear()
            self._leet.clear()
            self._keys = dict(self._first_keys)
            self._odd = set(self._keys)
            self._look = set(self.first) | self.left_halves
            self._known = set(self.first)
        first = self.first
        for t in new:
            self._seen.add(t)
            self._known.add(t)
            other = self._other_keys(t)
            if other:
                self._keys[t] = other
                self._odd.add(t)
            keys = token_keys(t)
            if len(keys) > 1 and any(k in first for k, _ in keys[1:]):
                self._leet.add(t)
                self._look.add(t)
                continue
            hit = self._variant(t)
            if hit is not None:
                self._variants[t] = hit
                self._look.add(t)

    def _scan(self, text: str, tk: Tokens, hot: set[str], halves: set[str], out: list[Candidate]) -> None:
        toks = tk.text
        n = len(toks)
        variants = self._variants
        single = self.single
        idxs = []                      # the only positions Python visits, found by list.index (C)
        for t in hot | halves:
            i = -1
            try:
                while True:
                    i = toks.index(t, i + 1)
                    idxs.append(i)
            except ValueError:
                pass
        if tk.split:
            idxs = sorted(set(idxs) | set(tk.split))
        else:
            idxs.sort()
        nxt = 0
        for i in idxs:
            if i < nxt:
                continue
            t = toks[i]
            extra = None
            if t in halves and i + 1 < n and (t + toks[i + 1]) in single:
                form, how = single[t + toks[i + 1]][0]
                if not form.ambiguous and how == "raw" and text[tk.end(i):tk.start(i + 1)] in (" ", "-"):
                    extra = (form, "joined2")
            if extra is None and t in variants:
                extra = variants[t]
            if t not in hot and extra is None and i not in tk.split:
                continue
            got = self._at(text, tk, i, extra)
            if got is None and i in tk.split:
                cand = self._split_trim(tk, i)
                if cand is not None:
                    out.append(cand)
                continue
            if got is not None:
                form, j, how = got
                start = tk.start(i)
                if how == "raw" and i in tk.split:
                    how = "split"
                elif how.startswith("glued:"):
                    start += int(how[6:])
                    how = "glued"
                out.append(Candidate(form, start, tk.end(j - 1), how, i, j))
                nxt = j

    def _at(self, text: str, tk: Tokens, i: int, extra) -> tuple[Form, int, str] | None:
        """The longest match starting at token i: (form, end token index, how)."""
        toks = tk.text
        keys = token_keys(toks[i])
        if i + 1 < len(toks):
            keys2 = None
            for key, how in keys:
                by_second = self.multi.get(key)
                if not by_second:
                    continue
                # the next token must continue a form before offsets are looked at: most first tokens
                # of multi-word forms ("the", "10", "uk") never do, and offsets cost a pass over the text
                if keys2 is None:
                    keys2 = token_keys(toks[i + 1])
                if not any(k2 in by_second for k2, _ in keys2):
                    continue
                a, b = tk.end(i), tk.start(i + 1)
                if b - a > 3 or not _GAP_OK.fullmatch(text, a, b):
                    break
                for k2, _ in keys2:
                    for rest, form in by_second.get(k2, ()):
                        j = self._extend(text, tk, i + 1, rest)
                        if j:
                            return form, j, how
        if extra is not None:
            form, how = extra
            if how == "joined2":
                return form, i + 2, "joined"
        for key, how in keys:
            forms = self.single.get(key)
            if forms:
                form, vhow = forms[0]
                return form, i + 1, (vhow if vhow != "raw" else how)
        if extra is not None:
            return extra[0], i + 1, extra[1]
        return None

    def _split_trim(self, tk: Tokens, i: int) -> Candidate | None:
        """A split-letter run that swallowed a neighbouring letter ("N f e n t a n y l"): try the run
        without up to two letters at either end."""
        t, pos = tk.text[i], tk.split[i]
        if len(t) != len(pos):
            return None
        for dl in range(3):
            for dr in range(3):
                if dl == dr == 0 or len(t) - dl - dr < 4:
                    continue
                sub = t[dl:len(t) - dr]
                for key, how in token_keys(sub):
                    forms = self.single.get(key)
                    if forms and not forms[0][0].ambiguous:
                        return Candidate(forms[0][0], pos[dl], pos[len(t) - dr - 1] + 1, "split", i, i + 1)
        return None

    def _extend(self, text: str, tk: Tokens, i: int, rest: tuple[str, ...]) -> int:
        """Index after the last token if tokens i+1.. continue with `rest` across small gaps, else 0."""
        toks = tk.text
        j = i + 1
        prev_end = tk.end(i)
        for want in rest:
            if j >= len(toks):
                return 0
            tok = toks[j]
            if tok != want and all(k != want for k, _ in token_keys(tok)[1:]):
                return 0
            s = tk.start(j)
            if s - prev_end > 3 or not _GAP_OK.fullmatch(text, prev_end, s):
                return 0
            prev_end = tk.end(j)
            j += 1
        return j

    def _variant(self, t: str) -> tuple[Form, str] | None:
        """Inexact reading of a token no exact key matched: repeated letters, then edit distance 1."""
        if len(t) >= 5 and _DOUBLE.search(t):
            form = self.squeezed.get(squeeze(t))
            if form is not None:
                return form, "repeat"
        m = _GLUED.match(t)
        if m:                      # "0.25mdma", "1ozhigh": a quantity glued to the name
            rest = t[m.end():]
            forms = self.single.get(rest)
            if forms and not forms[0][0].ambiguous and len(rest) >= 3:
                return forms[0][0], f"glued:{m.end()}"
        if self.fuzzy and len(t) >= self.fuzzy_min_len - 1:
            return self._fuzzy(t)
        return None

    def _fuzzy(self, key: str) -> tuple[Form, str] | None:
        """Edit distance 1 (substitution, insertion, deletion) against single-word forms of at least
        `fuzzy_min_len` letters, same first letter, never an ambiguous form. Memoised per token."""
        if not key.isalpha() or _CJK.search(key):
            return None
        deletes, single, m = self.deletes, self.single, self.fuzzy_min_len
        cands = list(deletes.get(key, ()))                  # the text lost a letter
        for i in range(len(key)):
            d = key[:i] + key[i + 1:]
            if len(d) >= m and d in single and single[d][0][1] == "raw":
                cands.append((d, single[d][0][0]))          # the text has an extra letter
            for k, f in deletes.get(d, ()):                 # one letter substituted
                if len(k) == len(key):
                    cands.append((k, f))
        for k, form in cands:
            if k[0] == key[0] and not form.ambiguous and form.via != "slang" and len(k) >= m and k != key:
                return form, "fuzzy"
        return None
