"""International phone numbers (a generic signal: a messenger's signal on the same number replaces it).

Only international numbers ("+86 138 0013 8000", "0086 ...", "(+1) 555-..."), with a known E.164
country code and a plausible length (8-15 digits, exact national length for the big codes). Value
"+<digits>". The keyed messenger finders (nlp/signals/contacts.py) reuse `_numbers` for numbers written
after a messenger word.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Iterator

from . import Hit, signal
from .windows import occurrences

# ITU-T E.164 assigned country calling codes (prefix-free, so at most one matches).
_CC = frozenset("""
1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64
65 66 81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229
230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253
254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 350 351 352 353
354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 380 381 382 383 385 386 387 389 420
421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598 599 670 672
673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 850 852 853 855 856
880 886 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998
""".split())
# national significant number lengths where they are fixed or narrow (others: 6-12 digits)
_NSN = {
    "1": (10, 10), "7": (10, 10), "86": (10, 11), "44": (9, 10), "91": (10, 10), "33": (9, 9),
    "61": (9, 9), "852": (8, 8), "853": (8, 8), "380": (9, 9), "31": (9, 9), "34": (9, 9),
    "52": (10, 10), "55": (10, 11), "81": (9, 10), "886": (8, 9), "65": (8, 8), "66": (8, 9),
    "84": (9, 10), "63": (10, 10), "90": (10, 10), "48": (9, 9), "32": (8, 9), "27": (9, 9),
    "234": (8, 10), "92": (9, 10), "49": (6, 11), "39": (6, 11),
}

# "+" or "00" not glued to a word; the left-edge lookbehinds sit after the first character so sre
# can skip to candidates quickly
_INTL = re.compile(r"(?:\+(?<![\w+]\+) ?|0(?<![\w+]0)0)\(?\d[\d \-.()\u00a0]{5,24}\d(?!\d)")
_BARE = re.compile(r"\d(?<![\w+]\d)[\d \-.()\u00a0]{6,22}\d(?!\d)")   # only after a messenger word


def e164(digits: str) -> str | None:
    """'+<digits>' when `digits` (country code first) is a plausible international number."""
    if not 8 <= len(digits) <= 15:
        return None
    cc = next((digits[:n] for n in (1, 2, 3) if digits[:n] in _CC), None)
    if cc is None:
        return None
    lo, hi = _NSN.get(cc, (6, 12))
    nsn = digits[len(cc):]
    if not lo <= len(nsn) <= hi or nsn[0] == "0":
        return None
    if cc == "1" and nsn[0] in "01":
        return None            # NANP area codes start 2-9
    if len(set(nsn)) < 3:
        return None            # 0000000 / 1111111 placeholders
    return "+" + digits


_CN_SURFACE = re.compile(r"1[3-9]\d{9}|1[3-9]\d[ -]\d{4}[ -]\d{4}")
# "WhatsApp 2024-05-12" is a date, not +20 240512
_DATE = re.compile(r"(?:19|20)\d\d([-./])[01]?\d\1[0-3]?\d|[0-3]?\d([-./])[01]?\d\2(?:19|20)?\d\d")


def _parse_number(surface: str, bare: bool) -> str | None:
    s = surface.replace("(0)", "")
    digits = re.sub(r"\D", "", s)
    if not digits.isascii():          # fullwidth or Arabic-Indic digits: the same number
        digits = "".join(str(unicodedata.decimal(c)) for c in digits)
    if bare and _CN_SURFACE.fullmatch(s):
        return "+86" + digits      # "13800138000" after "微信"/"WhatsApp" is a Chinese mobile, not +1 380...
    if bare and _DATE.fullmatch(s):
        return None
    if not bare and s.lstrip("( ").startswith("00"):
        digits = digits[2:]
    return e164(digits)


def _intl_matches(text: str) -> Iterator[re.Match]:
    """What `_INTL.finditer(text)` yields: a match starts with "+" or "00", so the regex is only
    tried at those (most listings have a few, glued inside words and numbers)."""
    starts = occurrences(text, "+")
    if "00" in text:                      # "00" glued to a word or a number ("1000") cannot start one
        starts = sorted(starts + [i for i in occurrences(text, "00")
                                  if not i or not (text[i - 1].isalnum() or text[i - 1] in "_+")])
    end = 0
    for i in starts:
        if i >= end and (m := _INTL.match(text, i)):
            yield m
            end = m.end()


def _numbers(text: str, pattern: re.Pattern, pos: int = 0, endpos: int | None = None,
             bare: bool = False, matches: Iterable[re.Match] | None = None) -> Iterator[tuple[int, int, str]]:
    """(start, end, +E164) per number; a run glued to trailing digits ("... 8000 100 pcs") is trimmed."""
    endpos = len(text) if endpos is None else endpos
    for m in (pattern.finditer(text, pos, endpos) if matches is None else matches):
        start, end = m.start(), m.end()
        while True:
            value = _parse_number(text[start:end], bare)
            if value:
                yield start, end, value
                break
            cut = max(text.rfind(" ", start, end), text.rfind("\u00a0", start, end))
            if cut <= start:
                break
            end = cut
            while end > start and not text[end - 1].isdigit():
                end -= 1


@signal("phone", needles=("+", "00"), generic=True)
def find_phones(text: str) -> Iterator[Hit]:
    for start, end, value in _numbers(text, _INTL, matches=_intl_matches(text)):
        yield start, end, value, "phone.intl", 0.8
