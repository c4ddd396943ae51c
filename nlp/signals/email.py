"""Email addresses: RFC-ish addresses, plus the "name [at] domain [dot] com" obfuscation."""
from __future__ import annotations

import re
from typing import Iterator

from . import Hit, signal
from .windows import occurrences

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?)@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24})(?![A-Za-z0-9-])")
_EMAIL_OBF = re.compile(
    r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9._%+\-]{1,64})\s?[\[({]\s?at\s?[\])}]\s?"
    r"([A-Za-z0-9-]{1,63})\s?(?:[\[({]\s?dot\s?[\])}]|\.)\s?([A-Za-z]{2,24})(?![A-Za-z0-9])", re.I)
_NOT_TLD = frozenset({"png", "jpg", "jpeg", "gif", "webp", "svg", "css", "js", "ico", "bmp"})


_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


def _email_matches(text: str) -> Iterator[re.Match]:
    """What `_EMAIL.finditer(text)` yields, found from each "@". The local part is 1-64 characters of
    a class without "@" and must not follow one of them, so the only possible start for a given
    "@" is the start of the run of local-part characters just before it."""
    end = 0
    for at in occurrences(text, "@"):
        if at < end:
            continue
        start, floor = at, max(end, at - 65)
        while start > floor and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        if start == at or (start > 0 and text[start - 1] in _LOCAL_CHARS):
            continue                 # no local part, or a run too long / reaching into the last match
        if m := _EMAIL.match(text, start):
            yield m
            end = m.end()


# every _EMAIL_OBF match has an opening bracket, optional space, "at" (only ASCII folds to a/t)
_OBF_GATE = re.compile(r"[\[({]\s?at\s?[\])}]", re.I)


@signal("email", needles=("@", "at]", "at)", "at}"))
def find_email(text: str) -> Iterator[Hit]:
    if "@" in text:
        for m in _email_matches(text):
            domain = m.group(2).lower()
            if domain.rsplit(".", 1)[1] not in _NOT_TLD:
                yield m.start(), m.end(), f"{m.group(1).lower()}@{domain}", "email.address", 0.9
    for m in (_EMAIL_OBF.finditer(text) if _OBF_GATE.search(text) else ()):
        yield (m.start(), m.end(), f"{m.group(1).lower()}@{m.group(2).lower()}.{m.group(3).lower()}",
               "email.obfuscated", 0.8)
