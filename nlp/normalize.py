"""Normalization that defeats obfuscation but never loses the way back to the original text.

Vendors write "f3nt@nyl", "ｆｅｎｔａｎｙｌ", "fеntanyl" (Cyrillic е), "f\u200bentanyl", "f e n t a n y l"
or "fentanyyyl" to slip past keyword filters. Reviewers need the evidence highlighted exactly where the
vendor wrote it, so every step here keeps a map from normalized characters to original offsets.

Two layers:
  * `normalize(text)` folds characters: NFKC (fullwidth -> ASCII, ligatures), accents and other
    combining marks and zero-width/format characters removed, lower-case, and Cyrillic/Greek
    look-alikes mapped to Latin inside words that are not genuinely Cyrillic/Greek.
    `Normalized.span(a, b)` turns a normalized span back into original offsets.
  * `tokens(norm)` splits the folded text into word tokens (CJK runs excluded: Chinese has no spaces and
    is matched by substring), re-joining letters split by spaces, dots, dashes or asterisks.
    `token_keys(tok)` gives the lookup keys of one token: raw, leet-decoded (only where a digit or
    @/$ sits inside letters, so "500mg", "2c-b", "4-ap" keep their digits), repeated letters squeezed.
The same functions normalize the lexicon's surface forms, so text and lexicon always agree.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import accumulate
from dataclasses import dataclass
from functools import lru_cache

# Format characters vendors insert to break words: zero-width space/joiners, word joiner, BOM, soft hyphen.
_INVISIBLE = set("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u034f\u180e")

# Cyrillic and Greek letters that look like Latin ones (lower-case; text is lower-cased first).
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ү": "y", "һ": "h", "ɡ": "g", "ӏ": "l",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "m", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ζ": "z",
    # Latin-ish symbols
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
}
_CONF_TABLE = str.maketrans({k: v for k, v in CONFUSABLES.items() if len(v) == 1})
_CYR_GREEK = re.compile(r"[\u0370-\u03ff\u0400-\u052f]")
# A word (letters/digits, plus @ and $ used as letters) outside CJK scripts.
_WORD = r"(?:[^\W_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[@$])"
_WORD_RE = re.compile(_WORD + "+")
_MIXED_WORD_RE = re.compile(r"[^\W_]+")
_LATIN = re.compile(r"[a-z]")

LEET = {"3": "e", "0": "o", "@": "a", "1": "i", "$": "s", "4": "a", "5": "s", "7": "t"}
_LEET_CHARS = "".join(LEET)
_LEET_I = str.maketrans(LEET)
_LEET_L = str.maketrans({**LEET, "1": "l"})
_HAS_LEET = re.compile(r"[a-z][013457@$]|[013457@$][a-z]")
_REPEAT = re.compile(r"([a-z])\1+")


@dataclass(slots=True)
class Normalized:
    """Folded text plus, when it differs in length/position from the original, the offset maps."""
    original: str
    text: str
    starts: list[int] | None = None   # original offset where normalized char i begins; None = identity
    ends: list[int] | None = None     # original offset where normalized char i ends

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Original [start, end) covering normalized [a, b) (b > a)."""
        if self.starts is None:
            return a, b
        return self.starts[a], self.ends[b - 1]


@lru_cache(maxsize=65536)
def fold_char(c: str) -> str:
    """One original character -> zero or more folded characters."""
    if c in _INVISIBLE:
        return ""
    cat = unicodedata.category(c)
    if cat in ("Mn", "Me", "Cf"):
        return ""
    s = unicodedata.normalize("NFKC", c).lower()
    if s.isascii():
        return s
    out = []
    for ch in s:
        if "\uac00" <= ch <= "\ud7a3":           # keep Hangul syllables whole
            out.append(ch)
            continue
        for d in unicodedata.normalize("NFD", ch):
            if not unicodedata.combining(d) and d not in _INVISIBLE:
                out.append(CONFUSABLES.get(d, d) if d in ("ı", "ł", "ø", "đ", "ß", "æ", "œ") else d)
    return "".join(out)


def normalize(text: str) -> Normalized:
    """Fold `text` (see module doc). ASCII text takes a fast path with identity offsets."""
    if text.isascii():
        return Normalized(text, text.lower())
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    identity = True
    for i, c in enumerate(text):
        f = fold_char(c)
        if len(f) == 1:
            parts.append(f)
            starts.append(i)
            ends.append(i + 1)
        else:
            identity = False
            for ch in f:
                parts.append(ch)
                starts.append(i)
                ends.append(i + 1)
    folded = "".join(parts)
    if _CYR_GREEK.search(folded):
        folded = _fix_confusables(folded)
    if identity:
        return Normalized(text, folded)
    return Normalized(text, folded, starts, ends)


def _fix_confusables(s: str) -> str:
    """Map Cyrillic/Greek look-alikes to Latin inside words that contain a Latin letter, or that consist
    only of look-alikes; genuine Russian/Greek words (with any non-look-alike letter) stay untouched.
    1:1 per character, so offsets are unchanged."""
    def fix(m: re.Match) -> str:
        w = m.group(0)
        if not _CYR_GREEK.search(w):
            return w
        if _LATIN.search(w) or all(ch in CONFUSABLES or not ch.isalpha() for ch in w):
            return w.translate(_CONF_TABLE)
        return w
    return _MIXED_WORD_RE.sub(fix, s)


# --- tokens --------------------------------------------------------------------------------------

_SPLIT_SEP = r"[ \t.\-*_·•]{1,2}"
_UNIT = r"(?:[^\W\d_]|[013457@$])"
# Single letters (leet digits inside) separated by spaces, dots, dashes, asterisks: "f e n t a n y l".
_LETTER = r"[^\W\d_]"
_SPLIT_RE = re.compile(r"(?<![\w@$])" + _LETTER + r"(?:" + _SPLIT_SEP + _UNIT + r"){2,}" + _SPLIT_SEP
                       + _LETTER + r"(?![^\W_@$])")
_SEPS = re.compile(r"[ \t.\-*_·•]")


_WCHAR = r"[^\W_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
# Same tokens as _WORD_RE, written so sre runs tight character-class loops (about 2x faster).
_WS_SPLIT = re.compile(r"(\s+)")
_TOKEN_SPLIT = re.compile("([@$]*" + _WCHAR + "+(?:[@$]+" + _WCHAR + "+)*[@$]*)")


# ASCII fast path: every ASCII character that cannot be part of a token becomes a space (1:1).
_ASCII_SEP = str.maketrans({chr(c): " " for c in range(128)
                            if not (chr(c).isalnum() or chr(c) in "@$")})


class Tokens:
    """Word tokens of a normalized text: `text` (list of token strings) plus start/end offsets into the
    normalized string. A split-letter run ("f e n t") is one token whose text has the separators
    removed. For ASCII text the offsets are computed lazily (only tokens near a hit ever need them)."""
    __slots__ = ("text", "_starts", "_ends", "split", "_src", "_at")

    def __init__(self, text, starts, ends, split=None, src=None):
        self.text: list[str] = text
        self._starts: list[int] = starts
        self._ends: list[int] = ends
        # split-letter token index -> normalized offset of each of its letters
        self.split: dict[int, list[int]] = split or {}
        self._src = src               # separator-cleaned text while offsets are still lazy
        self._at: dict[int, int] | None = None    # lazy mode: token index -> start, located on demand

    def start(self, i: int) -> int:
        """Start offset of token i; in lazy mode only this token is located (see `_locate`)."""
        if self._src is None:
            return self._starts[i]
        return self._locate(i)

    def end(self, i: int) -> int:
        if self._src is None:
            return self._ends[i]
        return self._locate(i) + len(self.text[i])

    def _locate(self, i: int) -> int:
        """Offset of token i without computing every offset: count the earlier occurrences of the same
        token since the nearest located token, then find that many whole-token occurrences in the
        cleaned text (separators are single spaces there). A text has few hits, so this beats a full pass."""
        at = self._at
        if at is None:
            at = self._at = {}
        elif i in at:
            return at[i]
        prev = max((k for k in at if k < i), default=-1)
        pos = at[prev] + len(self.text[prev]) if prev >= 0 else 0
        t = self.text[i]
        need = self.text[prev + 1:i].count(t) + 1
        src, n, size = self._src, len(t), len(self._src)
        while True:
            p = src.find(t, pos)
            e = p + n
            if (p == 0 or src[p - 1] == " ") and (e == size or src[e] == " "):
                need -= 1
                if not need:
                    at[i] = p
                    return p
            pos = p + 1

    def _fill(self) -> None:
        """Offsets of every token of the separator-cleaned text, in C: split keeping the whitespace
        runs, then accumulate the piece lengths."""
        pieces = _WS_SPLIT.split(self._src)          # [tok, ws, tok, ws, ..., tok]; edge toks may be ""
        bounds = list(accumulate(map(len, pieces)))
        ends = bounds[0::2]
        starts = [0] + bounds[1::2]
        lo = 1 if pieces[0] == "" else 0
        n_slots = len(ends)
        hi = n_slots - 1 if (pieces[-1] == "" and n_slots > lo) else n_slots
        starts, ends = starts[lo:hi], ends[lo:hi]
        n = len(self.text)
        self._starts, self._ends = starts[:n], ends[:n]
        self._src = None

    @property
    def starts(self) -> list[int]:
        if self._src is not None:
            self._fill()
        return self._starts

    @property
    def ends(self) -> list[int]:
        if self._src is not None:
            self._fill()
        return self._ends

    def __repr__(self) -> str:
        return f"Tokens({self.text!r}, starts={self.starts!r}, ends={self.ends!r}, split={set(self.split)!r})"


def _four_singles(toks: list[str]) -> bool:
    """Four one-character tokens in a row (token lengths as bytes: one C pass, no per-token strings)."""
    try:
        return b"\x01\x01\x01\x01" in bytes(map(len, toks))
    except ValueError:                        # a token longer than 255 characters
        return "1,1,1,1" in ",".join(map(str, map(len, toks)))


def tokens(norm: str) -> Tokens:
    """Tokenise normalized text. ASCII text: one translate + str.split (C speed), offsets lazy.
    Other text: a regex split. Split-letter runs take a slower path."""
    if norm.isascii():
        clean = norm.translate(_ASCII_SEP)
        toks = clean.split()
        # a split-letter run needs four one-character tokens in a row; only then run the regex
        if not _four_singles(toks) or not _SPLIT_RE.search(norm):
            return Tokens(toks, [], [], {}, clean)
    elif not _SPLIT_RE.search(norm):
        pieces = _TOKEN_SPLIT.split(norm)          # [sep, tok, sep, tok, ..., sep]
        bounds = list(accumulate(map(len, pieces)))
        toks = pieces[1::2]
        return Tokens(toks, bounds[0::2][:len(toks)], bounds[1::2])
    spans = [(m.start(), m.end()) for m in _SPLIT_RE.finditer(norm)]
    texts, starts, ends, split = [], [], [], {}
    si = 0
    for m in _WORD_RE.finditer(norm):
        s = m.start()
        while si < len(spans) and spans[si][1] <= s:
            si += 1
        if si < len(spans) and spans[si][0] <= s < spans[si][1]:
            a, b = spans[si]
            joined = _SEPS.sub("", norm[a:b])
            if sum(ch.isalpha() for ch in joined) >= 3:
                if not texts or starts[-1] != a:      # first token inside this run
                    split[len(texts)] = [a + k for k, ch in enumerate(norm[a:b]) if not _SEPS.match(ch)]
                    texts.append(joined)
                    starts.append(a)
                    ends.append(b)
                continue
        texts.append(m.group(0))
        starts.append(s)
        ends.append(m.end())
    return Tokens(texts, starts, ends, split)


@lru_cache(maxsize=200000)
def token_keys(tok: str) -> tuple[tuple[str, str], ...]:
    """Exact lookup keys for one token, best first: (key, how), how in raw|leet. Repeated letters are
    handled by the matcher's squeezed index (only for tokens that have a doubled letter)."""
    raw = tok.strip("@$") or tok
    keys = [(raw, "raw")]
    if _HAS_LEET.search(tok) and sum(ch.isalpha() for ch in tok) >= 2:
        for table in (_LEET_I, _LEET_L):
            k = tok.translate(table)
            if k != raw and all(k != x for x, _ in keys):
                keys.append((k, "leet"))
    return tuple(keys)


def squeeze(s: str) -> str:
    """Collapse runs of one repeated Latin letter: "fentanyyyl" -> "fentanyl"."""
    return _REPEAT.sub(r"\1", s)


def form_tokens(form: str) -> list[str]:
    """The token sequence of a lexicon surface form, normalized exactly like listing text."""
    return tokens(normalize(form).text).text


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Normalized text only (for lexicon forms and context words)."""
    return normalize(text).text
