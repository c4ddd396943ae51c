"""Version diffs rendered server-side: word-level insertions and deletions, every word escaped."""
from __future__ import annotations

import difflib
import re

from markupsafe import Markup, escape

DIFF_FIELDS = ("title", "description", "vendor", "price", "currency", "ships_from", "ships_to", "category")
_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str, max_tokens: int = 20_000) -> Markup:
    a, b = _TOKENS.findall(old or "")[:max_tokens], _TOKENS.findall(new or "")[:max_tokens]
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(Markup("<del>{}</del>").format("".join(a[i1:i2])))
        if j2 > j1:
            out.append(Markup("<ins>{}</ins>").format("".join(b[j1:j2])))
    return Markup("").join(out)


def version_diffs(versions) -> list[dict]:
    """For each version after the first: which fields changed and their word diff, newest first."""
    out = []
    for prev, cur in zip(versions, versions[1:]):
        changes = []
        for f in DIFF_FIELDS:
            old, new = getattr(prev.listing, f), getattr(cur.listing, f)
            if old != new:
                changes.append({"field": f, "old": old, "new": new,
                                "html": word_diff("" if old is None else str(old), "" if new is None else str(new))})
        out.append({"version": cur.version, "seen_at": cur.seen_at, "from_version": prev.version, "changes": changes})
    return list(reversed(out))
