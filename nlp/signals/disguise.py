"""Disguised messenger names and links: "t e l e g r a m", "wh@tsapp", "sig nal", "tеlеgram" (Cyrillic е),
"t . me / name", "t[.]me/name", "t(dot)me/name".

Vendors disguise the word a platform filter looks for, never the handle a buyer has to type, so the
handle's value is read exactly as in the plain form and links the same vendor either way. Links are
only tried around a "me" followed by a slash (spelled, bracketed or spaced) in the lower-cased text.

The letter substitutions are the normalizer's (`nlp.normalize.LEET`, `CONFUSABLES`, fullwidth
forms): text and contact finders undo the same disguises. The disguised patterns cost a regex scan
of the field, so they only run where `may_be_disguised` says they can match: the field with every
look-alike mapped to its lower-case letter ("1", "l", "|", "!" all to "i"), separators, brackets and
non-ASCII characters deleted, one byte per character (one `bytes.translate` of the shared byte view),
must hold the squashed name more often than the text holds the plain one.
"""
from __future__ import annotations

from nlp.normalize import CONFUSABLES, LEET

from .windows import ascii_bytes, lowered, non_ascii, per_text

# characters vendors put between the letters of a name: "t.e.l.e.g.r.a.m", "what's app", "sig-nal"
SEPARATORS = " \t.-_*'’·•"
SPLIT = "[ \\t.\\-_*'’·•]{0,2}"
# look-alikes the normalizer folds to a letter but that are not letters of their own here
_EXTRA = {"i": "1!|", "l": "1|"}


def look_alikes(letter: str) -> str:
    """`letter` and what the normalizer reads as it: leet digits/symbols, Cyrillic/Greek
    look-alikes, its fullwidth form."""
    alikes = {letter, chr(ord(letter) + 0xFEE0)}
    alikes.update(k for k, v in LEET.items() if v == letter)
    alikes.update(k for k, v in CONFUSABLES.items() if v == letter)
    alikes.update(_EXTRA.get(letter, ""))
    return "".join(sorted(alikes))


def _cls(chars: str) -> str:
    return "[" + "".join("\\" + c if c in "\\]^-[" else c for c in chars) + "]"


def disguised(name: str) -> str:
    """A regex (for lower-cased text) matching `name` with each letter written as a look-alike and up
    to two separators between letters. It also matches the plain name."""
    return SPLIT.join(_cls(look_alikes(c)) for c in name)


# the gate's view: every look-alike as its canonical letter, separators, brackets and non-ASCII deleted
_CANON = {c: letter for letter in "abcdefghijklmnopqrstuvwxyz" for c in look_alikes(letter)}
_CANON.update({c: "i" for c in "1!|l"})
_CANON.update({c.upper(): v for c, v in _CANON.items() if len(c.upper()) == 1})
# what an IGNORECASE regex also takes for a letter ("ſ" for s, the Kelvin sign for k)
_CANON.update({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_CANON["\uff0f"] = "/"                   # a fullwidth slash in "t．me／name"
_ASCII_MAP = bytes(ord(_CANON.get(chr(b), chr(b))) if b < 128 else b for b in range(256))
_DELETE = bytes(sorted({ord(c) for c in SEPARATORS + "[](){}?" if c.isascii()}))
_WIDE = str.maketrans({c: v for c, v in _CANON.items() if not c.isascii()})
_WIDE_KEYS = frozenset(c for c in _CANON if not c.isascii())


# non-ASCII look-alikes a handle may be written with ("xаnplug", Cyrillic а): Telegram usernames and
# Wickr IDs are ASCII, so such a handle is a disguise and folds to its ASCII form
_FOLD = {c: letter for letter in "abcdefghijklmnopqrstuvwxyz" for c in look_alikes(letter) if not c.isascii()}
_FOLD.update({c.upper(): v.upper() for c, v in _FOLD.items() if len(c.upper()) == 1 and not c.upper().isascii()})
_FOLD.update({chr(0xFF10 + d): str(d) for d in range(10)})
HANDLE_LOOKALIKES = "".join(sorted(_FOLD))
_FOLD_TABLE = str.maketrans(_FOLD)


def fold_handle(handle: str) -> str | None:
    """The ASCII handle a look-alike-written one stands for; None when it has no Latin letter (ASCII or
    fullwidth): then it is a word in Cyrillic or Greek, not a disguised handle."""
    if handle.isascii():
        return handle
    if not any("a" <= c.lower() <= "z" or "\uff21" <= c <= "\uff5a" for c in handle):
        return None
    folded = handle.translate(_FOLD_TABLE)
    return folded if folded.isascii() else None


def squash(s: str) -> bytes:
    """What the gate searches: look-alikes folded to lower-case letters, separators deleted."""
    return s.translate(_WIDE).encode("ascii", "replace").translate(_ASCII_MAP, _DELETE)


@per_text
def squashed(text: str) -> bytes:
    """`squash(text)`, once per field, from the shared byte view; a field with look-alikes ("μg" is
    common) has each replaced by str.replace (str.translate with a dict costs ~0.5 ms per KB)."""
    wide = non_ascii(text) & _WIDE_KEYS if not text.isascii() else None
    if not wide:
        return ascii_bytes(text).translate(_ASCII_MAP, _DELETE)
    for c in wide:
        text = text.replace(c, _CANON[c])
    return text.encode("ascii", "replace").translate(_ASCII_MAP, _DELETE)


# ---- links written with the dot and slash spelled out or spaced: "t . me / x", "wa[.]me/1555..." ----

SP = "[ \\t\\u00a0]{0,3}"       # spaces around a spelled-out dot or slash
_DOT = "[.\u3002\uff0e]"      # also the ideographic and fullwidth full stops
DOT = rf"(?:{SP}(?:[\[({{]{SP}(?:{_DOT}|dot){SP}[\])}}]|{_DOT}|dot){SP}|[ \t\u00a0]{{1,3}})"
SLASH = rf"{SP}(?:[\[({{]{SP}(?:[/\uff0f]|slash){SP}[\])}}]|[/\uff0f]|slash){SP}"


def may_be_disguised(text: str, gram: bytes, plain: str) -> bool:
    """Can a disguised form of the name `plain` (squashed: `gram`) occur in the text? Each plain
    occurrence squashes to one occurrence of the gram (no name overlaps itself), so a disguised one
    exists only where the squashed view holds more of them than the text holds plain ones."""
    view = squashed(text)
    return gram in view and view.count(gram) > lowered(text).count(plain)
