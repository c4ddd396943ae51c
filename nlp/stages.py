"""The registered components after substance matching: vendor signals, listing type and the risk verdict.

    interdict_signals      vendor signals (nlp.signals), the finders the config names, per field
    interdict_listing_type offer / information / paraphernalia / harm_reduction / other -> doc.cats
    interdict_risk         score and flag by config/scoring.yaml -> doc._.analysis (index.models.Analysis)
"""
from __future__ import annotations

from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

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
        if legacy:    # the signals before issue 13 (nlp/_legacy): tests/test_nlp_golden.py compares them
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


@Language.factory("interdict_risk", default_config={"scoring_path": None, "policy": {}})
def make_risk(nlp: Language, name: str, scoring_path: str | None, policy: dict):
    # policy: overrides of scoring.yaml's policy keys, e.g. a site's own (crawlers/siteconfig.py `policy`)
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
        return doc
    return risk
