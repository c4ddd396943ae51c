"""Substance knowledge base: one CSV row per substance, loaded into lookup tables.

The data lives in ``nlp/data/substances.csv`` (format and sources: ``nlp/data/SOURCES.md``).
Everything that reads substance facts (matcher, CAS extractor, risk policy, `interdict lexicon`)
goes through this module, so a bad row is caught in one place with ``file:line: field: reason``.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_PATH = Path(__file__).parent / "data" / "substances.csv"
# medicine brand names mapped onto the rows from the drug-named-entity-recognition package
# (nlp/data/build_brands.py writes it); loaded with the shipped knowledge base as synonyms
BRANDS_PATH = Path(__file__).parent / "data" / "brands.csv"

HEADER = ("id", "canonical", "class", "controls", "cas", "synonyms", "slang",
          "zh", "es", "ru", "ambiguous", "source")

CLASSES = (
    "opioid", "stimulant", "entactogen", "psychedelic", "dissociative", "depressant",
    "benzodiazepine", "cannabinoid", "steroid", "precursor", "other",
)

# "NPS" is our own marker, not a legal regime: a new psychoactive substance (UNODC EWA sense),
# whether or not it is also scheduled somewhere. The risk policy flags NPS offers by this marker.
CONTROL_VOCAB = (
    "UN-1961 Sch I", "UN-1961 Sch II", "UN-1961 Sch III", "UN-1961 Sch IV",
    "UN-1971 Sch I", "UN-1971 Sch II", "UN-1971 Sch III", "UN-1971 Sch IV",
    "UN-1988 Table I", "UN-1988 Table II",
    "INCB SSL",
    "US-CSA Sch I", "US-CSA Sch II", "US-CSA Sch III", "US-CSA Sch IV", "US-CSA Sch V",
    "US List I", "US List II",
    "NPS",
)

VIAS = ("name", "synonym", "slang", "translation")
SEP = "|"

_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class KBError(ValueError):
    """A knowledge-base row is unusable; the message is ``file:line: field: reason``."""


@dataclass(frozen=True)
class Substance:
    id: str
    canonical: str
    cls: str
    controls: tuple[str, ...]
    cas: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class SurfaceForm:
    text: str
    substance_id: str
    via: str   # "name" | "synonym" | "slang" | "translation"
    lang: str  # "en" | "zh" | "es" | "ru" | ""
    ambiguous: bool


@dataclass
class KnowledgeBase:
    substances: dict[str, Substance] = field(default_factory=dict)
    forms: list[SurfaceForm] = field(default_factory=list)
    by_cas: dict[str, str] = field(default_factory=dict)  # CAS number -> substance id
    path: Path | None = None

    def substance(self, id: str) -> Substance:
        try:
            return self.substances[id]
        except KeyError:
            raise KeyError(f"unknown substance id {id!r}") from None

    def forms_of(self, id: str) -> list[SurfaceForm]:
        return [f for f in self.forms if f.substance_id == id]


def cas_valid(cas: str) -> bool:
    """True if ``cas`` is a well-formed CAS Registry Number whose check digit matches.

    Check digit = sum of the other digits, weighted 1, 2, 3… from the right, modulo 10.
    """
    m = _CAS_RE.match(cas.strip())
    if not m:
        return False
    digits = m.group(1) + m.group(2)
    total = sum(int(d) * w for w, d in enumerate(reversed(digits), start=1))
    return total % 10 == int(m.group(3))


def norm_form(text: str) -> str:
    """The key two surface forms collide on: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _split(cell: str | None) -> list[str]:
    if not cell:
        return []
    return [part.strip() for part in cell.split(SEP) if part.strip()]


@dataclass
class _Row:
    line: int
    sub: Substance
    forms: list[SurfaceForm]
    ambiguous_keys: set[str]


def _parse(path: Path) -> tuple[list[_Row], list[str]]:
    """Parse every row, collecting all problems rather than stopping at the first."""
    problems: list[str] = []
    rows: list[_Row] = []
    name = path.name
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        return [], [f"{name}:0: file: cannot open ({exc.strerror})"]
    with handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header) != HEADER:
                problems.append(f"{name}:1: header: expected {','.join(HEADER)}")
                return [], problems
            seen_ids: dict[str, int] = {}
            for record in reader:
                line = reader.line_num
                if not any(c.strip() for c in record):
                    continue
                if len(record) != len(HEADER):
                    problems.append(f"{name}:{line}: row: expected {len(HEADER)} fields, got {len(record)}")
                    continue
                row = dict(zip(HEADER, (c.strip() for c in record)))
                bad = len(problems)
                sid = row["id"]
                if not _ID_RE.match(sid):
                    problems.append(f"{name}:{line}: id: {sid!r} is not a lower-case slug")
                elif sid in seen_ids:
                    problems.append(f"{name}:{line}: id: {sid!r} already defined on line {seen_ids[sid]}")
                else:
                    seen_ids[sid] = line
                if not row["canonical"]:
                    problems.append(f"{name}:{line}: canonical: empty")
                if row["class"] not in CLASSES:
                    problems.append(f"{name}:{line}: class: unknown class {row['class']!r}")
                controls = _split(row["controls"])
                for c in controls:
                    if c not in CONTROL_VOCAB:
                        problems.append(f"{name}:{line}: controls: unknown regime {c!r}")
                cas = _split(row["cas"])
                for c in cas:
                    if not cas_valid(c):
                        problems.append(f"{name}:{line}: cas: {c!r} fails the CAS check digit")
                if not row["source"]:
                    problems.append(f"{name}:{line}: source: empty (every row needs its source)")
                if len(problems) > bad:
                    continue
                sub = Substance(sid, row["canonical"], row["class"], tuple(controls), tuple(cas), row["source"])
                amb = {norm_form(a) for a in _split(row["ambiguous"])}
                forms: list[SurfaceForm] = []
                seen_forms: set[str] = set()

                def add(text: str, via: str, lang: str) -> None:
                    # one form per text and row: the first column wins (name > synonym > slang > translation)
                    key = norm_form(text)
                    if not key or key in seen_forms:
                        return
                    seen_forms.add(key)
                    forms.append(SurfaceForm(text, sid, via, lang, key in amb))

                add(row["canonical"], "name", "en")
                for s in _split(row["synonyms"]):
                    add(s, "synonym", "en")
                for s in _split(row["slang"]):
                    add(s, "slang", "en")
                for lang in ("zh", "es", "ru"):
                    for s in _split(row[lang]):
                        add(s, "translation", lang)
                all_keys = {norm_form(f.text) for f in forms}
                for a in sorted(amb - all_keys):
                    problems.append(f"{name}:{line}: ambiguous: {a!r} is not a surface form of this row")
                rows.append(_Row(line, sub, forms, amb))
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.append(f"{name}:{getattr(reader, 'line_num', 0)}: row: unreadable ({exc})")
    problems.extend(_cross_checks(rows, name))
    return rows, problems


def _cross_checks(rows: list[_Row], name: str) -> list[str]:
    """Forms shared by two rows must be marked ambiguous in both; CAS numbers must be unique."""
    problems: list[str] = []
    owners: dict[str, list[_Row]] = {}
    for r in rows:
        for key in {norm_form(f.text) for f in r.forms}:
            owners.setdefault(key, []).append(r)
    for key, rs in owners.items():
        if len(rs) < 2:
            continue
        for r in rs:
            if key not in r.ambiguous_keys:
                others = ", ".join(f"{o.sub.id} (line {o.line})" for o in rs if o is not r)
                problems.append(
                    f"{name}:{r.line}: ambiguous: {key!r} also names {others}; mark it ambiguous in every row")
    cas_owner: dict[str, _Row] = {}
    for r in rows:
        for c in r.sub.cas:
            if c in cas_owner and cas_owner[c] is not r:
                o = cas_owner[c]
                problems.append(f"{name}:{r.line}: cas: {c} already belongs to {o.sub.id} (line {o.line})")
            else:
                cas_owner[c] = r
    return problems


def _sort_key(problem: str) -> int:
    try:
        return int(problem.split(":", 2)[1])
    except (IndexError, ValueError):
        return 0


def _brands(path: Path, rows: list[_Row]) -> tuple[list[SurfaceForm], list[str]]:
    """Brand forms of brands.csv (brand,id,generic), each a synonym of its row; problems name file:line."""
    problems: list[str] = []
    forms: list[SurfaceForm] = []
    ids = {r.sub.id for r in rows}
    taken = {norm_form(f.text): r.sub.id for r in rows for f in r.forms}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != ["brand", "id", "generic"]:
            return [], [f"{path.name}:1: header: expected brand,id,generic"]
        for record in reader:
            line = reader.line_num
            if len(record) != 3:
                problems.append(f"{path.name}:{line}: row: expected 3 fields, got {len(record)}")
                continue
            brand, sid, _ = (c.strip() for c in record)
            key = norm_form(brand)
            if sid not in ids:
                problems.append(f"{path.name}:{line}: id: {sid!r} is not a row of substances.csv")
            elif key in taken:
                problems.append(f"{path.name}:{line}: brand: {brand!r} already names {taken[key]}; "
                                f"rebuild with nlp/data/build_brands.py --write")
            else:
                taken[key] = sid
                forms.append(SurfaceForm(brand, sid, "synonym", "en", False))
    return forms, problems


def check_kb(path: str | Path | None = None) -> list[str]:
    """Every problem in the knowledge base, each ``FILE:LINE: FIELD: reason``; [] if clean. The shipped
    knowledge base includes its brand names (brands.csv)."""
    rows, problems = _parse(Path(path) if path else DEFAULT_PATH)
    if path is None and not problems and BRANDS_PATH.exists():
        problems += _brands(BRANDS_PATH, rows)[1]
    return sorted(problems, key=_sort_key)


def _build(path: Path, brands: Path | None = None) -> KnowledgeBase:
    rows, problems = _parse(path)
    if brands is not None and not problems:
        brand_forms, problems = _brands(brands, rows)
    else:
        brand_forms = []
    if problems:
        first = sorted(problems, key=_sort_key)[0]
        more = f" (and {len(problems) - 1} more; run `interdict lexicon check`)" if len(problems) > 1 else ""
        raise KBError(f"{first}{more}")
    kb = KnowledgeBase(path=path)
    for r in rows:
        kb.substances[r.sub.id] = r.sub
        kb.forms.extend(r.forms)
        for c in r.sub.cas:
            kb.by_cas[c] = r.sub.id
    kb.forms.extend(brand_forms)
    return kb


@lru_cache(maxsize=2)
def _default_kb(with_brands: bool) -> KnowledgeBase:
    return _build(DEFAULT_PATH, BRANDS_PATH if with_brands and BRANDS_PATH.exists() else None)


def load_kb(path: str | Path | None = None, with_brands: bool = True,
            brands_path: str | Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base (cached for the shipped file, which comes with its brand names
    unless with_brands is false; another file comes with the brand names of `brands_path`, if given).
    Raises KBError on a bad row."""
    shipped_brands = brands_path is None or Path(brands_path).resolve() == BRANDS_PATH.resolve()
    if (path is None or Path(path).resolve() == DEFAULT_PATH.resolve()) and shipped_brands:
        return _default_kb(with_brands)
    return _build(Path(path or DEFAULT_PATH), Path(brands_path) if brands_path else None)
