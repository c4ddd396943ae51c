"""The registered components after substance matching: vendor signals, listing type and the risk verdict.

    interdict_signals      vendor signals (nlp.signals), the finders the config names, per field
    interdict_listing_type offer / information / paraphernalia / harm_reduction / other -> doc.cats
    interdict_risk         score and flag by nlp/scoring.yaml -> doc._.analysis (index.models.Analysis);
                           with `spans = true`, the evidence -> doc.spans["substances"], doc.spans["signals"]
"""
from __future__ import annotations

from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from index.models import Analysis, Signal
from nlp import listing_type as _listing_type
from nlp.components import Substances, _path
from nlp.datafile import DataFiles
from nlp.listing_type import ListingTypeRules
from nlp.risk import ScoringConfig, score

LISTING_TYPES = ("substance_offer", *_listing_type.ORDER, "other")


class SignalsComponent:
    """Runs the signal finders of the "interdict" "signals" registry that `finders` names (all when None)."""

    def __init__(self, finders: list[str] | None, legacy: bool):
        from nlp.signals import extract_signals, extractors
        if legacy:    # the frozen earlier signals (nlp/_legacy): tests/nlp/test_nlp_golden.py compares them
            if finders is not None:
                raise ValueError("interdict_signals: `finders` cannot be chosen with legacy = true")
            from nlp._legacy.signals import extract_signals  # noqa: F811
        else:
            extractors(finders)       # an unknown finder name fails here, when the pipeline is built
        self.extract = extract_signals
        self.finders = None if finders is None else tuple(finders)

    def __call__(self, doc: Doc) -> Doc:
        out: list[Signal] = []
        ext = doc._
        if self.finders is None:
            for v in ext.fields:
                out.extend(self.extract(v.text, v.name))
        else:
            for v in ext.fields:
                out.extend(self.extract(v.text, v.name, finder_names=self.finders))
        ext.signals = out
        return doc


@Language.factory("interdict_signals", default_config={"finders": None, "legacy": False})
def make_signals(nlp: Language, name: str, finders: list[str] | None, legacy: bool):
    return SignalsComponent(finders, legacy)


class ListingTypeComponent(DataFiles):
    """Classifies the listing into doc.cats (1.0 for its type, 0.0 for the others); the reason goes into
    doc._.listing_type for the explanation. Rules are read by `initialize` or `from_disk`."""

    def __init__(self):
        self.files: dict[str, Path] = {}

    def initialize(self, get_examples=None, *, nlp: Language | None = None, rules: str | None = None) -> None:
        """Load the rules; null is the shipped nlp/data/listing_types.yaml."""
        self.load_files(listing_types=_path(rules) or _listing_type.DEFAULT_PATH)

    def load_files(self, listing_types: Path) -> None:
        self.rules = ListingTypeRules.load(listing_types)
        self.files = {"listing_types.yaml": listing_types}

    def __call__(self, doc: Doc) -> Doc:
        ext = doc._
        subs: Substances = ext.substances
        fields = [(v.name, v.norm.text, v.name in subs.fields, v.has_quantity) for v in ext.fields]
        ltype, reason = self.rules.classify(fields)
        doc.cats.update({t: float(t == ltype) for t in LISTING_TYPES})
        ext.listing_type = reason
        return doc


@Language.factory("interdict_listing_type")
def make_listing_type(nlp: Language, name: str):
    return ListingTypeComponent()


@Language.factory("interdict_risk", default_config={"scoring_path": None, "policy": {}, "spans": False})
def make_risk(nlp: Language, name: str, scoring_path: str | None, policy: dict, spans: bool):
    # policy: overrides of scoring.yaml's policy keys, e.g. a site's own (crawlers/siteconfig/schema.py `policy`)
    cfg = ScoringConfig.load(_path(scoring_path), policy)

    def risk(doc: Doc) -> Doc:
        ext = doc._
        subs: Substances = ext.substances
        cats = doc.cats
        ltype = max(LISTING_TYPES, key=cats.__getitem__)
        signals = ext.signals or []
        verdict = score(ltype, subs.hits, subs.ids, signals, cfg, ext.offer_model)
        explanation = verdict.explanation + [f"listing type {ltype}: {ext.listing_type}"] + subs.notes \
            + doc.user_data.get("notes", [])
        ext.analysis = Analysis(flagged=verdict.flagged, risk=verdict.risk, listing_type=ltype,
                                substances=subs.hits, signals=signals,
                                explanation=explanation)
        return with_spans(doc, subs.hits, signals) if spans else doc
    return risk


def with_spans(doc: Doc, substances: list, signals: list[Signal]) -> Doc:
    """The doc with its evidence as spans: doc.spans["substances"] (label: canonical name) and
    doc.spans["signals"] (label: signal type). A listing's Doc is made without tokens (nlp/analyze.py:
    nothing reads them), so this returns a Doc of the same text whose tokens are the stretches between
    evidence boundaries; user_data (fields, extension attributes) and cats go with it. Its strings live
    in the vocab until the memory zone the Analyzer runs nlp.pipe in ends."""
    hits = [("substances", h.canonical, h) for h in substances] + [("signals", s.type, s) for s in signals]
    fields = doc.user_data.get("fields")
    if not fields:               # a Doc made from a plain string has spaCy's tokens and is one "title" field
        groups: dict[str, list[Span]] = {"substances": [], "signals": []}
        for key, label, h in hits:
            if (span := doc.char_span(h.start, h.end, label=label, alignment_mode="expand")) is not None:
                groups[key].append(span)
        doc.spans.update(groups)
        return doc
    parts, pos, offset = [], 0, {}
    for name, start, end, text in fields:
        parts.append("\n" * (start - pos))
        parts.append(text)
        offset[name], pos = start, start + len(text)
    text = "".join(parts)
    edges = [(offset[h.field] + h.start, offset[h.field] + h.end) for _, _, h in hits]
    cuts = sorted({0, len(text)}.union(*edges))
    words = [text[a:b] for a, b in zip(cuts, cuts[1:])]
    out = Doc(doc.vocab, words=words, spaces=[False] * len(words))
    out.user_data, out.cats = doc.user_data, doc.cats
    at = {c: i for i, c in enumerate(cuts)}
    out.spans["substances"] = [Span(out, at[a], at[b], label=label)
                               for (key, label, _), (a, b) in zip(hits, edges) if key == "substances"]
    out.spans["signals"] = [Span(out, at[a], at[b], label=label)
                            for (key, label, _), (a, b) in zip(hits, edges) if key == "signals"]
    return out
