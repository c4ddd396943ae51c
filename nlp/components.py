"""The registered spaCy components of the detection pipeline (assembled from nlp/nlp.cfg).

A listing is one Doc: its fields (title, description) are joined with a blank line and their spans
are kept in ``doc.user_data["fields"]``; every hit reports offsets into its own field's original text.

    interdict_normalizer   fold each field (nlp.normalize), keep the offset maps
    interdict_substances   lexicon + CAS matching, ambiguity resolved by context, ranked by importance
    interdict_signals      vendor signals (nlp.signals) per field
    interdict_listing_type offer / information / paraphernalia / harm_reduction / other
    interdict_offer_model  the trained offer classifier's P(offer) and class (nlp/textcat; off by default)
    interdict_risk         score and flag by nlp/scoring.yaml -> doc._.analysis (index.models.Analysis)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from index.models import SubstanceHit
from nlp import disambiguation as _context, kb as _kb, mentions as _mentions, nps_grammar as _grammar
from nlp.cas import CasHit, find_cas
from nlp.disambiguation import ContextRules
from nlp.datafile import DataFiles
from nlp.kb import load_kb
from nlp.longest import LongestNames
from nlp.mentions import MentionRules
from nlp.candidates import Candidate
from nlp.matcher import SubstanceMatcher
from nlp.normalize import Normalized, Tokens, fold, normalize
from nlp.nps_grammar import NpsGrammar
from nlp.textcat import component as _offer_model  # noqa: F401  (registers interdict_offer_model)

FIELD_WEIGHT = {"title": 3.0, "description": 1.0}

if not Doc.has_extension("fields"):
    Doc.set_extension("fields", default=None)
if not Doc.has_extension("substances"):
    Doc.set_extension("substances", default=None)
if not Doc.has_extension("signals"):
    Doc.set_extension("signals", default=None)
if not Doc.has_extension("listing_type"):
    Doc.set_extension("listing_type", default=None)
if not Doc.has_extension("analysis"):
    Doc.set_extension("analysis", default=None)


@dataclass
class FieldView:
    """One field of the listing as the components see it."""
    name: str
    offset: int                    # where the field starts in doc.text
    text: str                      # original field text (what offsets index)
    norm: Normalized
    toks: Tokens | None = None
    candidates: list[Candidate] = field(default_factory=list)
    cas: list[CasHit] = field(default_factory=list)
    quantity_re: object = None     # set by interdict_substances; searched only when a rule needs it

    def has_quantity(self) -> bool:
        """A quantity or price in this field ("5g", "$40"): costs a regex pass, so only on demand."""
        return bool(self.quantity_re is not None and self.norm.text and self.quantity_re.search(self.norm.text))


@dataclass
class Substances:
    """Output of interdict_substances: one hit per substance, most important first."""
    hits: list[SubstanceHit]
    ids: list[str]
    notes: list[str]               # ambiguity decisions, for the explanation
    fields: set[str] = field(default_factory=set)   # fields with at least one accepted hit


def _path(p: str | Path | None) -> Path | None:
    """A configured data path (relative to the working directory); None for the shipped file."""
    return Path(p) if p else None


def _fields(doc: Doc) -> list[tuple[str, int, int, str]]:
    """(name, start, end, text) per field; a Doc made from a plain string is one "title" field."""
    spans = doc.user_data.get("fields")
    if spans:
        return spans
    text = doc.text
    return [("title", 0, len(text), text)]


@Language.factory("interdict_normalizer", default_config={"max_field_chars": 200000})
def make_normalizer(nlp: Language, name: str, max_field_chars: int):
    def normalizer(doc: Doc) -> Doc:
        views = []
        for fname, start, end, text in _fields(doc):
            if len(text) > max_field_chars:     # hostile size: analyze a bounded prefix, offsets stay valid
                text = text[:max_field_chars]
                doc.user_data.setdefault("notes", []).append(
                    f"{fname} analyzed up to {max_field_chars} characters")
            views.append(FieldView(fname, start, text, normalize(text)))
        doc._.fields = views
        return doc
    return normalizer


class SubstanceComponent(DataFiles):
    """Lexicon and CAS matching with context disambiguation and importance ranking. Its data (lexicon,
    brands, context, mention and grammar rules) is read by `initialize` ([initialize.components] of
    nlp/nlp.cfg) or `from_disk`, never at construction."""

    def __init__(self, fuzzy: bool, fuzzy_min_len: int):
        self.fuzzy, self.fuzzy_min_len = fuzzy, fuzzy_min_len
        self.files: dict[str, Path] = {}

    def initialize(self, get_examples=None, *, nlp: Language | None = None, lexicon: str | None = None,
                   brands: str | None = None, context: str | None = None, mentions: str | None = None,
                   grammar: str | None = None) -> None:
        """Load the data files; a path left out (null) is the shipped one in nlp/data."""
        lexicon_p = _path(lexicon)
        if lexicon_p is None or lexicon_p.resolve() == _kb.DEFAULT_PATH.resolve():
            lexicon_p, brands_p = _kb.DEFAULT_PATH, _path(brands) or _kb.BRANDS_PATH
        else:
            brands_p = _path(brands)
        self.load_files(substances=lexicon_p, brands=brands_p, context=_path(context) or _context.DEFAULT_PATH,
                        mentions=_path(mentions) or _mentions.DEFAULT_PATH,
                        nps_grammar=_path(grammar) or _grammar.DEFAULT_PATH)

    def load_files(self, substances: Path, context: Path, mentions: Path, nps_grammar: Path,
                   brands: Path | None = None) -> None:
        self.kb = load_kb(substances, brands_path=brands)
        self.matcher = SubstanceMatcher(self.kb.forms, fuzzy=self.fuzzy, fuzzy_min_len=self.fuzzy_min_len)
        self.longest = LongestNames(self.matcher, self.kb, NpsGrammar.load(nps_grammar))
        self.context = ContextRules.load(context)
        self.mentions = MentionRules.load(mentions)
        self.files = {"substances.csv": substances, "context.yaml": context, "mentions.yaml": mentions,
                      "nps_grammar.yaml": nps_grammar, **({"brands.csv": brands} if brands else {})}

    def __call__(self, doc: Doc) -> Doc:
        ext = doc._                     # each `doc._` builds a new accessor object: read it once
        views: list[FieldView] = ext.fields
        for v in views:
            v.candidates, v.toks = self.matcher.find(v.norm)
            v.candidates = self.longest.refine(v.norm, v.toks, v.candidates, doc.user_data.setdefault("notes", []))
            v.cas = find_cas(v.norm, self.kb)
            v.quantity_re = self.context.quantity
        ext.substances = self.resolve(views)
        return doc

    def resolve(self, views: list[FieldView]) -> Substances:
        notes: list[str] = []
        for v in views:
            if v.candidates:
                v.candidates = self._offered(v, notes)
        self._harm_reduction_product(views, notes)
        strong_ids = {c.form.substance_id for v in views for c in v.candidates
                      if not c.form.ambiguous and c.how != "fuzzy"}
        strong_ids |= {h.substance_id for v in views for h in v.cas if h.substance_id}
        weak = self.context.weak
        strong_ids -= weak        # "CBD" alone does not say whether hemp oil or cannabis is sold
        norm_texts = [v.norm.text for v in views]
        market = None if strong_ids else self.context.market_context(norm_texts)
        topic = None
        accepted: list[tuple[FieldView, str, SubstanceHit, float, int]] = []
        for v in views:
            for c in v.candidates:
                conf = c.confidence
                rule = f"lexicon.{c.how}"
                if c.form.ambiguous or c.how == "fuzzy":
                    surface = v.text[slice(*v.norm.span(c.start, c.end))]
                    key = fold(c.form.surface).strip()
                    if c.form.ambiguous and self._modifies_strong(v, c):
                        continue          # "fentanyl powder", "crystal meth", "mdma crystal": a modifier
                    neg = c.tok_start >= 0 and self.context.collocation(key, v.toks.text, c.tok_start, c.tok_end)
                    if not neg and c.form.ambiguous:
                        neg = self.context.proper_name(v.norm.text, c.end)
                    if neg:
                        notes.append(f"{surface!r} not read as {self._canon(c)}: next to {neg!r}")
                        continue
                    if c.form.ambiguous and strong_ids and c.form.substance_id not in strong_ids:
                        notes.append(f"{surface!r} not read as {self._canon(c)}: the listing names "
                                     f"another substance")
                        continue
                    if not strong_ids:
                        if topic is None:
                            topic = self.context.negative_topic(norm_texts) or ""
                        if c.form.ambiguous and (key in self.context.dominant
                                                 or (c.tok_end - c.tok_start >= 2 and len(key) >= 8
                                                     and key not in self.context.everyday)):
                            local = key           # "weed", "cheeba chew": the drug sense dominates
                        elif c.form.ambiguous and c.tok_start >= 0:
                            # near the word; in a (short) title anywhere in the title
                            local = self.context.local(v.toks.text, c.tok_start, c.tok_end,
                                                       whole=v.name == "title" and len(v.toks.text) <= 16)
                        else:
                            local = market
                        if topic or not local:
                            why = f"listing is about {topic!r}" if topic else "no drug context next to it"
                            notes.append(f"{surface!r} not read as {self._canon(c)}: {why}")
                            continue
                    conf = round(conf * 0.85, 3)
                    rule += "+context"
                accepted.append((v, c.form.substance_id, self._hit(v, c, conf, rule), conf, c.start))
            for h in v.cas:
                if h.substance_id is None:
                    notes.append(f"CAS {h.cas} (valid checksum) is not in the knowledge base")
                    continue
                a, b = v.norm.span(h.start, h.end)
                sub = self.kb.substances[h.substance_id]
                hit = SubstanceHit(canonical=sub.canonical, cls=sub.cls, cas=list(sub.cas),
                                   controls=list(sub.controls), matched=v.text[a:b], field=v.name,
                                   start=a, end=b, via="cas", value=h.cas, rule="cas.checksum",
                                   confidence=1.0)
                accepted.append((v, h.substance_id, hit, 1.0, h.start))
        slang_ids = {a[1] for a in accepted if "+context" in a[2].rule and a[2].via != "fuzzy"}
        if not strong_ids and len(slang_ids) >= 3:
            # slang for three different drugs and no drug named: ordinary vocabulary ("pink salt,
            # pure crystals"; "brown sugar syrup, tapioca pearls"), not a vendor's menu
            notes.append("slang words for " + ", ".join(sorted(a[2].canonical for a in accepted
                         if a[1] in slang_ids)) + " read as ordinary words: no substance named outright")
            accepted = [a for a in accepted if a[1] not in slang_ids]
        if not strong_ids and all("+context" in a[2].rule or a[1] in weak for a in accepted):
            # no substance named outright: a market context ("1 oz", "indoor", "OG") beats generic slang
            # ("White Fire OG 1 oz" is cannabis, not cocaine; "Swiss Fluff 110ug" is LSD)
            implied: list = []
            self._implied(views, implied, notes)
            if implied:
                sid = implied[0][1]
                dropped = [a for a in accepted if a[1] != sid and a[1] not in weak]
                for a in dropped:
                    notes.append(f"{a[2].matched!r} not read as {a[2].canonical}: the listing's market "
                                 f"context implies {implied[0][2].canonical}")
                accepted = ([a for a in accepted if a[1] == sid] or implied) + \
                    [a for a in accepted if a[1] != sid and a[1] in weak]
        # rank: weighted mentions (title counts more), best confidence, earliest position
        agg: dict[str, list] = {}
        has_drug = any(h.cls != "precursor" for _, _, h, _, _ in accepted)
        n_ids = len({a[1] for a in accepted})
        for order, (v, sid, hit, conf, pos) in enumerate(accepted):
            # ambiguous slang ("pills", "powder") ranks below any real name; a solvent or reagent
            # ("acetone washed cocaine") below the drug it was used for
            w = FIELD_WEIGHT.get(v.name, 1.0) * conf * (0.5 if "+context" in hit.rule and hit.via != "fuzzy" else 1.0)
            if has_drug and hit.cls == "precursor":
                w *= 0.4
            if sid in weak and n_ids > 1:
                w *= 0.3          # "High CBD Harlequin 1 oz" is cannabis first
            if sid not in agg:
                agg[sid] = [0.0, order, hit]
            agg[sid][0] += w
            if hit.confidence > agg[sid][2].confidence and hit.field == agg[sid][2].field:
                agg[sid][2] = hit
        ranked = sorted(agg.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
        return Substances([r[1][2] for r in ranked], [r[0] for r in ranked], notes,
                          {a[0].name for a in accepted})

    def _offered(self, v: FieldView, notes: list[str]) -> list[Candidate]:
        """The candidates of one field minus substances named without being offered (nlp/mentions.py):
        said to be absent ("contains no THC or CBD", "THC-free", "<0.3% THC") or what a test looks for
        ("tested negative with fentanyl strips", "fentanyl test strips")."""
        text = v.norm.text
        keep: list[Candidate] = []
        cues: list[tuple[int, int]] = []      # "zero" in "zero THC" is the cue, not opium slang
        ordered = sorted(v.candidates, key=lambda c: c.start)
        spans = [(c.start, c.end) for c in ordered]
        prev_kind = None
        for i, c in enumerate(ordered):
            got = self.mentions.not_offered(text, c.start, c.end, c.form.substance_id)
            kind, why = got[:2] if got else (None, None)
            if got:
                cues.append(got[2:])
            elif prev_kind and self.mentions.listed_with(text, spans, i):
                kind, why = prev_kind, "listed with it"
            prev_kind = kind
            if kind is None:
                keep.append(c)
                continue
            surface = v.text[slice(*v.norm.span(c.start, c.end))]
            notes.append(f"{surface!r} not read as an offer of {self._canon(c)}: {kind} ({why!r})")
        if cues:
            keep = [c for c in keep if not any(a < c.end and c.start < b for a, b in cues)]
        return keep if len(keep) != len(v.candidates) else v.candidates

    def _harm_reduction_product(self, views: list[FieldView], notes: list[str]) -> None:
        """A title that names a harm-reduction product and offers no substance: the listing sells the
        product, and every substance it names is what the test looks for ("detects fentanyl in pills") or
        the overdose it reverses ("opioid overdose, including fentanyl")."""
        title = next((v for v in views if v.name == "title"), None)
        if title is None or title.cas or any(not c.form.ambiguous for c in title.candidates):
            return
        got = self.mentions.product(title.norm.text)
        if got is None:
            return
        kind, product = got
        for v in views:
            for c in v.candidates:
                surface = v.text[slice(*v.norm.span(c.start, c.end))]
                notes.append(f"{surface!r} not read as an offer of {self._canon(c)}: {kind} "
                             f"(the listing sells {product!r})")
            v.candidates = []

    def _implied(self, views: list[FieldView], accepted: list, notes: list[str]) -> None:
        """No substance named: does the title sell by a unit typical of one substance, with its market
        words ("1/4 oz - Golden Fire - Indoor AAA" is cannabis)? Rules: context.yaml `implied`."""
        topic = self.context.negative_topic([v.norm.text for v in views])
        if topic:                 # "indoor herb garden kit 500 g" is about gardening
            notes.append(f"no substance implied: listing is about {topic!r}")
            return
        for v in views:
            if v.name != "title":
                continue
            got = self.context.implied_substance(v.norm.text)
            if got is None:
                continue
            sid, conf, (a, b), word = got
            sub = self.kb.substances.get(sid)
            if sub is None:
                return
            s, e = v.norm.span(a, b)
            hit = SubstanceHit(canonical=sub.canonical, cls=sub.cls, cas=list(sub.cas),
                               controls=list(sub.controls), matched=v.text[s:e], field=v.name, start=s,
                               end=e, via="slang", value=v.norm.text[a:b], rule="context.implied",
                               confidence=conf)
            accepted.append((v, sid, hit, conf, a))
            notes.append(f"{sub.canonical} implied: sold by {v.text[s:e]!r} with market word {word!r}")
            return

    def _modifies_strong(self, v: FieldView, c: Candidate) -> bool:
        """An ambiguous word right next to an unambiguous substance name describes that substance."""
        if c.tok_start < 0:
            return False
        w = self.context.window
        for o in v.candidates:
            if o is c or o.form.ambiguous or o.tok_start < 0 or o.form.substance_id in self.context.weak:
                continue
            if o.tok_start - w <= c.tok_start < o.tok_end + w:
                return True
        return False

    def _canon(self, c: Candidate) -> str:
        return self.kb.substances[c.form.substance_id].canonical

    def _hit(self, v: FieldView, c: Candidate, conf: float, rule: str) -> SubstanceHit:
        sub = self.kb.substances[c.form.substance_id]
        a, b = v.norm.span(c.start, c.end)
        via = "fuzzy" if c.how == "fuzzy" else c.form.via
        return SubstanceHit(canonical=sub.canonical, cls=sub.cls, cas=list(sub.cas),
                            controls=list(sub.controls), matched=v.text[a:b], field=v.name, start=a,
                            end=b, via=via, value=fold(c.form.surface).strip(), rule=rule,
                            confidence=conf)


@Language.factory("interdict_substances", default_config={"fuzzy": True, "fuzzy_min_len": 8})
def make_substances(nlp: Language, name: str, fuzzy: bool, fuzzy_min_len: int):
    return SubstanceComponent(fuzzy, fuzzy_min_len)
