"""Streaming analysis: listings in, analyses out, in order, in constant memory.

`Analyzer.analyze_records` implements the stable CLI contract (`interdict analyze`): one result dict
per input record, an error dict in place of a bad record. `Analyzer.analyze_listings` fills
`Listing.analysis` for the crawler pipeline. Both feed nlp.pipe in bounded batches; a document a
component fails on fails alone (nlp.pipeline.PipeErrors): an error dict naming its line, or a listing left
unanalyzed and logged.
"""
from __future__ import annotations

import logging
import re
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc

from index.models import Analysis, Listing
from nlp.pipeline import PipeErrors, build_nlp

log = logging.getLogger(__name__)
FIELDS = ("title", "description")
FIELD_SEP = "\n\n"


class RecordError(ValueError):
    """A record that cannot be analyzed; the message names the field."""


# JSON may escape half of a UTF-16 pair ("\ud800"): Python decodes it to a lone surrogate, which is no
# character, cannot be encoded to UTF-8 and would crash the writer of this record's result line.
_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_record(rec: Any) -> dict:
    """Check one parsed JSON record against the contract: `id` and at least one of title/description."""
    if not isinstance(rec, dict):
        raise RecordError(f"expected a JSON object, got {type(rec).__name__}")
    if "id" not in rec or rec["id"] is None or isinstance(rec["id"], (dict, list, bool)):
        raise RecordError("field 'id': missing or not a string/number")
    present = [f for f in FIELDS if rec.get(f) is not None]
    if not present:
        raise RecordError("needs at least one of 'title' or 'description'")
    for f in present:
        if not isinstance(rec[f], str):
            raise RecordError(f"field {f!r}: expected a string, got {type(rec[f]).__name__}")
    for f in ("id", *present):
        if isinstance(rec[f], str) and (m := _SURROGATE.search(rec[f])):
            raise RecordError(f"field {f!r}: lone surrogate \\u{ord(m.group()):04x} at offset {m.start()} "
                              "(not valid Unicode text)")
    return rec


class Analyzer:
    """Owns one pipeline; reuse it (building loads the lexicon)."""

    def __init__(self, nlp: Language | None = None, config_path: str | Path | None = None,
                 batch_size: int | None = None):
        self.nlp = nlp or build_nlp(config_path)
        self.batch_size = batch_size or getattr(self.nlp, "batch_size", 128) or 128
        self.errors = PipeErrors()
        self.nlp.set_error_handler(self.errors)

    def make_doc(self, title: str, description: str, ref: Any = None) -> Doc:
        parts, spans, pos = [], [], 0
        for name, text in (("title", title or ""), ("description", description or "")):
            if not text:
                continue
            if parts:
                parts.append(FIELD_SEP)
                pos += len(FIELD_SEP)
            parts.append(text)
            spans.append((name, pos, pos + len(text)))
            pos += len(text)
        text = "".join(parts)
        # the components read the fields from user_data and never spaCy's tokens, so the Doc stays
        # empty: tokenising a 1 KB listing costs ~60 us that nothing uses
        doc = Doc(self.nlp.vocab, words=[])
        # (name, start, end, text): offsets into the fields joined by FIELD_SEP
        doc.user_data["fields"] = [(n, a, b, text[a:b]) for n, a, b in spans]
        doc.user_data["ref"] = ref          # names the document in an error record
        return doc

    def analyze_text(self, title: str = "", description: str = "") -> Analysis:
        got = self._run([self.make_doc(title, description, ref=0)])[0]
        if isinstance(got, dict):
            raise ValueError(f"analysis failed in {got['component']}: {got['error']}")
        return got

    def _run(self, docs: list[Doc]) -> list[Analysis | dict]:
        """The analysis of each doc, in order; the error record (nlp.pipeline.PipeErrors) of a doc a
        component failed on (nlp.pipe drops it from its output)."""
        for i, d in enumerate(docs):
            d.user_data["pos"] = i
        with self.nlp.memory_zone():     # the strings of these docs leave the vocab with them
            done = {d.user_data["pos"]: d._.analysis for d in self.nlp.pipe(docs, batch_size=self.batch_size)}
        failed = {r["pos"]: r for r in self.errors.take()}
        return [done[i] if i in done else failed[i] for i in range(len(docs))]

    def analyze_records(self, records: Iterable[Any]) -> Iterator[dict]:
        """One contract dict per record, in order. A record may be an Exception (a line that did not
        parse); it and any record failing `validate_record` yield {"id": null, "error": ...}.
        Records are numbered from 1 in error messages (the input line)."""
        it = iter(enumerate(records, start=1))
        while True:
            chunk = list(islice(it, self.batch_size))
            if not chunk:
                return
            slots: list[dict | None] = []
            docs: list[Doc] = []
            for n, rec in chunk:
                try:
                    if isinstance(rec, Exception):
                        raise RecordError(str(rec))
                    validate_record(rec)
                except RecordError as exc:
                    slots.append({"id": None, "error": f"line {n}: {exc}"})
                    continue
                docs.append(self.make_doc(rec.get("title") or "", rec.get("description") or "", ref=n))
                slots.append({"id": rec["id"], "line": n})
            results = iter(self._run(docs))
            for slot in slots:
                if "error" in slot:
                    yield slot
                elif isinstance(got := next(results), dict):
                    yield {"id": slot["id"], "error": f"line {slot['line']}: analysis failed in "
                                                      f"{got['component']}: {got['error']}"}
                else:
                    yield contract_dict(slot["id"], got)

    def analyze_listings(self, listings: Iterable[Listing], batch_size: int | None = None) -> Iterator[Listing]:
        """The same listings, in order, with `.analysis` filled."""
        size = batch_size or self.batch_size
        it = iter(listings)
        while True:
            chunk = list(islice(it, size))
            if not chunk:
                return
            docs = [self.make_doc(x.title, x.description, ref=x.listing_id or x.url) for x in chunk]
            for listing, got in zip(chunk, self._run(docs)):
                if isinstance(got, dict):     # stored unanalyzed, like a batch whose analysis failed
                    log.error("listing %s (%s): analysis failed in %s: %s", listing.listing_id or listing.url,
                              listing.platform, got["component"], got["error"])
                else:
                    listing.analysis = got
                yield listing


def contract_dict(id_: Any, a: Analysis) -> dict:
    """The CLI contract's output object (issue 3, section 4), plus rule/confidence/value per hit."""
    return {
        "id": id_,
        "flagged": a.flagged,
        "risk": a.risk,
        "listing_type": a.listing_type,
        "substances": [
            {"canonical": h.canonical, "class": h.cls, "cas": list(h.cas), "controls": list(h.controls),
             "matched": h.matched, "field": h.field, "start": h.start, "end": h.end, "via": h.via,
             "value": h.value, "rule": h.rule, "confidence": h.confidence}
            for h in a.substances],
        "signals": [
            {"type": s.type, "value": s.value, "field": s.field, "start": s.start, "end": s.end,
             "rule": s.rule, "confidence": s.confidence}
            for s in a.signals],
        "explanation": list(a.explanation),
    }
