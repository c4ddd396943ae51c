"""CAS Registry Numbers: B2B precursor offers often name nothing but "CAS 125541-22-2".

A CAS number is extracted only when its check digit verifies (nlp.kb.cas_valid), then mapped through
the knowledge base. Valid numbers the knowledge base does not know are returned separately so the
analysis can mention them without inventing a substance.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.kb import KnowledgeBase, cas_valid
from nlp.normalize import Normalized

CAS_RE = re.compile(r"(?<![\d-])\b(\d{2,7})-(\d{2})-(\d)\b(?![\d-])")
# The middle of every CAS number. Starting with a literal, sre skips to each "-" at C speed, so most
# texts (no CAS number) are ruled out much faster than by CAS_RE, which tries every digit.
_CAS_CORE = re.compile(r"-\d\d-\d")


@dataclass(slots=True)
class CasHit:
    cas: str
    substance_id: str | None     # None: valid checksum, not in the knowledge base
    start: int                   # offsets into the normalized text
    end: int


def find_cas(norm: Normalized, kb: KnowledgeBase) -> list[CasHit]:
    """Checksum-valid CAS numbers in the normalized text (fullwidth digits are already ASCII there)."""
    text = norm.text
    if "-" not in text or not _CAS_CORE.search(text):
        return []
    out = []
    for m in CAS_RE.finditer(text):
        cas = m.group(0)
        if cas_valid(cas):
            out.append(CasHit(cas, kb.by_cas.get(cas), m.start(), m.end()))
    return out
