"""Chemical-name grammar: recognise NPS names that no knowledge-base row lists ("5-MMC", "4-F-MPH",
"N-ethylheptedrone"), by the way such names are built: ring and nitrogen substituents on a known scaffold
("4-methyl-", "N-ethyl-", "-pentedrone", "-nitazene", "-NBOMe", "3C-x").

The rules are data (nlp/data/nps_grammar.yaml). Each family names an `unidentified-nps-*` row of the
knowledge base, whose class is the family's guess; nlp.longest decides whether a grammar name is a known
row after all and which of overlapping names is reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nlp.datafile import read_yaml
from nlp.normalize import Tokens, tokens

DEFAULT_PATH = Path(__file__).parent / "data" / "nps_grammar.yaml"
# a name is a whole word: no letter, digit or joining hyphen/comma right before or after it
_BEFORE = r"(?<![\w,-])"
_AFTER = r"(?![\w]|-\w)"
WINDOW = 6          # words a name may have before its cue word ("3,4-methylenedioxy-N-ethyl-cathinone")
_PART = re.compile(r"\{([a-z_]\w*)\}")


def _has_cue(token: str, cue: str) -> bool:
    """A cue of four or more letters anywhere in the token ("pentedrone", "protonitazene"); a short one is
    the whole token or follows a digit ("ho" of "4-ho-met", "mmc" of "3mmc"), never inside a word ("shop")."""
    if len(cue) >= 4:
        return cue in token
    return token == cue or (token.endswith(cue) and len(token) > len(cue) and token[-len(cue) - 1].isdigit())


@dataclass(frozen=True, slots=True)
class GrammarName:
    """A name the grammar recognised: normalized-text offsets and the family row it belongs to."""
    start: int
    end: int
    family_id: str


@dataclass
class NpsGrammar:
    families: list[tuple[str, re.Pattern]]
    path: Path
    salt_names: re.Pattern | None = None
    cues: dict[str, tuple[str, ...]] = field(default_factory=dict)     # family id -> its cues
    _token_families: dict[str, tuple[int, ...]] = field(default_factory=dict)   # token -> family indexes
    _cue_tokens: set[str] = field(default_factory=set)                          # tokens with any cue

    @classmethod
    def load(cls, path: str | Path | None = None) -> "NpsGrammar":
        """Read and compile the grammar; ValueError naming the file and field for a bad entry."""
        p, data = read_yaml(path or DEFAULT_PATH, "the NPS grammar")
        parts = {str(k): str(v) for k, v in (data.get("parts") or {}).items()}

        def expand(pattern: str, where: str) -> str:
            def sub(m: re.Match) -> str:
                if m.group(1) not in parts:
                    raise ValueError(f"{p}: {where}: unknown part {{{m.group(1)}}}")
                return parts[m.group(1)]
            return _PART.sub(sub, pattern)

        families = []
        cues: dict[str, tuple[str, ...]] = {}
        for i, fam in enumerate(data.get("families") or ()):
            where = f"families[{i}]"
            if not isinstance(fam, dict) or not fam.get("id") or not fam.get("patterns") or not fam.get("cues"):
                raise ValueError(f"{p}: {where}: needs an id, cues and a list of patterns")
            cues[str(fam["id"])] = tuple(str(c).lower() for c in fam["cues"])
            alts = [expand(str(pat), f"{where}.patterns[{j}]") for j, pat in enumerate(fam["patterns"])]
            try:
                rx = re.compile(_BEFORE + "(?:" + "|".join(f"(?:{a})" for a in alts) + ")" + _AFTER)
            except re.error as exc:
                raise ValueError(f"{p}: {where} ({fam['id']}): bad regular expression ({exc})") from None
            families.append((str(fam["id"]), rx))
        salts = [str(x) for x in data.get("salt_names") or ()]
        try:
            salt_re = re.compile("|".join(f"(?:{x})" for x in salts)) if salts else None
        except re.error as exc:
            raise ValueError(f"{p}: salt_names: bad regular expression ({exc})") from None
        return cls(families, p, salt_re, cues)

    def is_salt_name(self, text: str, start: int, end: int) -> bool:
        """Is text[start:end] a salt name that belongs to the substance next to it (盐酸 in 盐酸赛拉嗪)?"""
        if self.salt_names is None:
            return False
        m = self.salt_names.match(text, start)
        return m is not None and m.end() == end

    def check_ids(self, known: set[str]) -> None:
        """Every family must name a knowledge-base row (its class is the guess reported)."""
        for fid, _ in self.families:
            if fid not in known:
                raise ValueError(f"{self.path}: families: {fid!r} is not a row of the knowledge base")

    def _learn(self, new: set[str]) -> None:
        """Examine tokens never seen before: which families' cues each contains (memoised, bounded)."""
        if len(self._token_families) > 200000:
            self._token_families.clear()
            self._cue_tokens.clear()
        for token in new:
            fams = tuple(i for i, (fid, _) in enumerate(self.families)
                         if any(_has_cue(token, c) for c in self.cues.get(fid, ())))
            self._token_families[token] = fams
            if fams:
                self._cue_tokens.add(token)

    def find(self, text: str, toks: Tokens | None = None) -> list[GrammarName]:
        """Names in a normalized text, non-overlapping, the longest of overlapping ones first. The patterns run
        only on a window of tokens around a word with a cue (a name spans at most WINDOW words before it);
        which words have cues is set algebra over the text's distinct tokens."""
        toks = toks if toks is not None else tokens(text)
        words = toks.text
        tokset = set(words)
        new = tokset.difference(self._token_families)
        if new:
            self._learn(new)
        hot = tokset & self._cue_tokens
        if not hot:
            return []
        hits = [(i, self._token_families[t]) for i, t in enumerate(words) if t in hot]
        seen: set[GrammarName] = set()
        for i, fams in hits:
            a = toks.start(max(0, i - WINDOW))
            b = toks.end(min(len(words) - 1, i + 3))
            for f in fams:
                fid, rx = self.families[f]
                seen.update(GrammarName(m.start(), m.end(), fid) for m in rx.finditer(text, a, b))
        found = list(seen)
        if len(found) < 2:
            return found
        found.sort(key=lambda g: (g.start - g.end, g.start))
        kept: list[GrammarName] = []
        for g in found:
            if all(g.end <= k.start or k.end <= g.start for k in kept):
                kept.append(g)
        return sorted(kept, key=lambda g: g.start)
