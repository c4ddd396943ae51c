"""Chemical-name grammar: recognise NPS names that no knowledge-base row lists ("5-MMC", "4-F-MPH",
"N-ethylheptedrone"), by the way such names are built: ring and nitrogen substituents on a known scaffold
("4-methyl-", "N-ethyl-", "-pentedrone", "-nitazene", "-NBOMe", "3C-x").

The rules are data (nlp/data/nps_grammar.yaml). Each family names an `unidentified-nps-*` row of the
knowledge base, whose class is the family's guess; nlp.longest decides whether a grammar name is a known
row after all and which of overlapping names is reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nlp.datafile import read_yaml

DEFAULT_PATH = Path(__file__).parent / "data" / "nps_grammar.yaml"
# a name is a whole word: no letter, digit or joining hyphen/comma right before or after it
_BEFORE = r"(?<![\w,-])"
_AFTER = r"(?![\w]|-\w)"
_PART = re.compile(r"\{([a-z_]\w*)\}")


@dataclass(frozen=True, slots=True)
class GrammarName:
    """A name the grammar recognised: normalised-text offsets and the family row it belongs to."""
    start: int
    end: int
    family_id: str


@dataclass
class NpsGrammar:
    families: list[tuple[str, re.Pattern]]
    path: Path
    salt_names: re.Pattern | None = None

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
        for i, fam in enumerate(data.get("families") or ()):
            where = f"families[{i}]"
            if not isinstance(fam, dict) or not fam.get("id") or not fam.get("patterns"):
                raise ValueError(f"{p}: {where}: needs an id and a list of patterns")
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
        return cls(families, p, salt_re)

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

    def find(self, text: str) -> list[GrammarName]:
        """Names in a normalised text, non-overlapping, the longest of overlapping ones first."""
        found = [GrammarName(m.start(), m.end(), fid) for fid, rx in self.families for m in rx.finditer(text)]
        if len(found) < 2:
            return found
        found.sort(key=lambda g: (g.start - g.end, g.start))
        kept: list[GrammarName] = []
        for g in found:
            if all(g.end <= k.start or k.end <= g.start for k in kept):
                kept.append(g)
        return sorted(kept, key=lambda g: g.start)
