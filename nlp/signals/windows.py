"""Context windows: a weak pattern (a bare @handle, a 40-hex string) counts only near a keyword.

Windows are bounded slices, so the cost per candidate is constant whatever the field's size.
"""
from __future__ import annotations

import re
from functools import lru_cache, wraps

_LOWER: tuple[str | None, str] = (None, "")


def lowered(text: str) -> str:
    """`text.lower()`, computed once per text and shared by every finder of an extract_signals call."""
    global _LOWER
    last, low = _LOWER                     # one tuple read/write: safe across threads
    if last is not text:
        low = text.lower()
        _LOWER = (text, low)
    return low


# characters from most to least frequent in listings; a needle is first tested by its rarest
# character, since `char in text` costs a tenth of a substring search
_FREQUENT = " eaoitnrslcdhumpgyfwbvk.,-01259346780x/:%+()jzq@"


@lru_cache(maxsize=None)
def _probes(needles: tuple[str, ...], ascii_only: bool) -> tuple[tuple[str, str], ...]:
    """(rarest character, needle) per needle that is worth testing: a needle that contains another
    one of the tuple adds nothing, and a non-ASCII one cannot occur in ASCII text."""
    kept = [n for n in needles if not (ascii_only and not n.isascii())
            and not any(o != n and o in n for o in needles)]
    return tuple((rarest(n), n) for n in dict.fromkeys(kept))


_RANK = {c: i for i, c in enumerate(_FREQUENT)}


def rarest(s: str) -> str:
    """The character of `s` least likely to occur in a listing (any non-ASCII one beats ASCII)."""
    return max(s, key=lambda c: _RANK.get(c, len(_RANK)))


_GATES: dict[int, tuple] = {}


def contains_any(low: str, needles: tuple[str, ...]) -> bool:
    """Does `low` contain one of `needles`? The same answer as any(n in low ...), found cheaper."""
    gate = _GATES.get(id(needles))
    if gate is None or gate[0] is not needles:          # keyed by identity: hashing a tuple costs
        gate = _GATES[id(needles)] = (needles, _probes(needles, True), _probes(needles, False))
    for c, n in gate[1] if low.isascii() else gate[2]:
        if c in low and (len(n) == 1 or n in low):
            return True
    return False


def per_text(fn):
    """Memoise a one-argument scan on the last two texts it saw (by identity: a field and its
    lower-cased copy), so the finders of one family share it within an extract_signals call;
    lru_cache would hash and compare the whole field."""
    slots: list = [(None, None), (None, None)]

    @wraps(fn)
    def cached(text: str):
        seen, result = slots[0]
        if seen is text:
            return result
        seen, result = slots[1]
        if seen is not text:
            result = fn(text)
        slots[1] = slots[0]
        slots[0] = (text, result)
        return result
    return cached


def window(text: str, start: int, end: int, before: int = 40, after: int = 20) -> tuple[str, str]:
    """(text just before the match, text just after it), each at most `before`/`after` chars."""
    return text[max(0, start - before):start], text[end:end + after]


def near(text: str, start: int, end: int, keyword: re.Pattern, before: int = 40, after: int = 20) -> bool:
    left, right = window(text, start, end, before, after)
    return bool(keyword.search(left) or keyword.search(right))


def _table(members: str, mark: str, rest: str = " ", keep: str = "") -> bytes:
    return bytes(ord(mark) if chr(c) in members else c if chr(c) in keep else ord(rest) for c in range(256))


B58_CHARS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
HEX_CHARS = "0123456789ABCDEFabcdef"
_B58_VIEW = _table(B58_CHARS, "b")
_HEX_VIEW = _table(HEX_CHARS, "h", ".", keep=" ")


@per_text
def ascii_bytes(text: str) -> bytes:
    """The text as one byte per character, every non-ASCII character as "?": byte offsets are the
    text's offsets, and bytes.translate + bytes.find on it run at memchr speed where a regex
    character class costs ~8 ns per character."""
    return text.encode("ascii", "replace")


_ASCII = bytes(range(128))


@per_text
def non_ascii(text: str) -> frozenset[str]:
    """The distinct non-ASCII characters of the text: they decide whether an ASCII view is exact."""
    if text.isascii():
        return frozenset()
    return frozenset(text.encode("utf-8", "surrogatepass").translate(None, _ASCII)
                     .decode("utf-8", "surrogatepass"))


@per_text
def base58_view(text: str) -> bytes:
    """ascii_bytes with every base58 character as "b" and anything else as a space: bytes.find on it
    answers "is there a run of N base58 characters, and where?"."""
    return ascii_bytes(text).translate(_B58_VIEW)


@per_text
def hex_view(text: str) -> bytes:
    """ascii_bytes with hex digits as "h", spaces kept, anything else as "." (see base58_view)."""
    return ascii_bytes(text).translate(_HEX_VIEW)


def occurrences(text: str, literal: str) -> list[int]:
    """Every start of `literal` in `text`, overlapping ones included, ascending."""
    out = []
    i = text.find(literal)
    while i >= 0:
        out.append(i)
        i = text.find(literal, i + 1)
    return out


LETTERS = r"A-Za-z\u00C0-\u024F\u0400-\u04FF"
_LETTER = re.compile(f"[{LETTERS}]")
_ALNUM = re.compile(f"[{LETTERS}0-9]")


class Words:
    """A keyword alternation (lowercase alternatives) matched as whole words on lower-cased text.

    IGNORECASE patterns that open with a lookbehind defeat sre's first-character scan and cost
    ~20x more, so the pattern runs on `text.lower()` without flags and the left word boundary is
    checked in Python. Latin/Cyrillic edges must not touch another letter; CJK edges need no
    boundary (Chinese has no spaces). `low` is passed in so a caller lower-cases a field once.
    """

    def __init__(self, alternatives: str, anchors: tuple[str, ...] = ()):
        right = rf"(?!(?<=[{LETTERS}])[{LETTERS}])"
        self.pattern = f"(?:{alternatives}){right}"
        self._rx = re.compile(self.pattern)
        self._rx_i = re.compile(rf"(?!(?<=[{LETTERS}0-9])[{LETTERS}])" + self.pattern, re.I)
        # `anchors`: literals one of which starts every match (declared with the alternation, checked
        # by tests/nlp/test_signals_fastpaths.py). On a long field, str.find for each (after a
        # one-character probe) beats the character-class scan sre does for an alternation that
        # opens with several letters; worth it for two or three Latin anchors (measured)
        self._anchors = tuple((rarest(a), a) for a in anchors) or None

    def finditer(self, text: str, low: str, pos: int = 0, endpos: int | None = None):
        endpos = len(text) if endpos is None else endpos
        if len(low) != len(text):                 # lower() changed offsets: slow exact path
            yield from self._rx_i.finditer(text, pos, endpos)
            return
        matches = (self._anchored(low, pos, endpos) if self._anchors and endpos - pos >= 256
                   else self._rx.finditer(low, pos, endpos))
        for m in matches:
            s = m.start()
            if s and _ALNUM.match(low, s - 1) and _LETTER.match(low, s):
                continue
            yield m

    def _anchored(self, low: str, pos: int, endpos: int):
        """What self._rx.finditer(low, pos, endpos) yields, trying the regex only at anchors."""
        starts: list[int] = []
        for probe, anchor in self._anchors:
            if probe in low:
                i = low.find(anchor, pos, endpos)
                while i >= 0:
                    starts.append(i)
                    i = low.find(anchor, i + 1, endpos)
        if len(self._anchors) > 1:
            starts.sort()
        end = pos
        for i in starts:
            if i >= end and (m := self._rx.match(low, i, endpos)):
                yield m
                end = m.end()

    def search(self, text: str, low: str, pos: int = 0, endpos: int | None = None):
        return next(self.finditer(text, low, pos, endpos), None)
