"""Bring street names from the Drug Abuse Ontology (DAO) into substances.csv, reviewed, never blindly.

The DAO (tests/data/reference/drug-abuse-ontology.ttl, provenance in tests/data/README.md) lists drug individuals with
``has_term`` / ``has_brand_name`` / ``has_slang_term`` literals. Many literals are noise for a
listing matcher (side effects, "Addicted", underscores for spaces, ordinary words). So:

* an individual contributes only if it is mapped to one of our rows, either explicitly in
  ``DAO_TO_ID`` or because one of its terms already is a surface form of exactly one row;
* every literal passes ``keep()`` (no health/behaviour words, no stop words, no 1-letter forms);
* a literal that already names another row is reported as a conflict and NOT written; a human
  decides whether to add it to both rows as ambiguous.

Usage::

    python nlp/data/build_slang.py            # report what would change
    python nlp/data/build_slang.py --write    # add the new forms to the slang/synonyms columns

The script is idempotent: forms already present in the row are skipped.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_TTL = ((Path(os.environ["INTERDICT_SHARED_DIR"]) / "data" if os.environ.get("INTERDICT_SHARED_DIR")
                else REPO / "tests" / "data") / "reference" / "drug-abuse-ontology.ttl")
CSV_PATH = HERE / "substances.csv"

# DAO individual or class -> our row id, where names alone do not line up.
DAO_TO_ID = {
    "Alprazolam": "alprazolam", "Amphetamine": "amphetamine", "Heroin": "heroin",
    "Cocaine": "cocaine", "Methadone": "methadone", "Morphine": "morphine", "Codeine": "codeine",
    "Oxycodone-type": "oxycodone", "Oxycodone_IR": "oxycodone", "Oxycontin-type": "oxycodone",
    "Hydrocodone": "hydrocodone", "Hydromorphone": "hydromorphone", "Oxymorphone": "oxymorphone",
    "Tramadol": "tramadol", "Loperamide": "loperamide", "Buprenorphine": "buprenorphine",
    "Buprenorphine_analgesic": "buprenorphine", "Buprenorphine_opioid_depend": "buprenorphine",
    "Pharmaceutical_Fentanyl": "fentanyl", "Natural_Cannabis": "cannabis",
    "Salvinorin": "salvia-divinorum", "Opium": "opium", "Poppy_tea": "opium",
}

# Reviewed DAO literals we do not import: ordinary words, other products, or wrong for the row.
REJECT = {
    "sub", "resin", "hemp", "hydro", "teva", "lop", "ms", "pod", "ms l", "ms s", "uei", "aloha", "diablo",
    "eclipse", "omg", "oblivion", "phoenix", "rapture", "vertex", "viper", "sub zero", "sweet leaf",
    "sonic boom", "stoopid", "barely legal", "green crack", "pineapple kush", "blueberry haze",
    "afghan black", "ice bud", "train wreck", "doob", "dexanabinol", "menabitan", "holy sh*t", "kingkong",
    "neutronium", "iblown", "orgazmo", "number one choice", "high dose buprenorphine", "methanadamide", "apokyn",
}

# Reviewed DAO literals we import but that need context (written to the ambiguous column too).
AMBIGUOUS = {
    "manteca", "manteka", "vic", "murphy", "coby", "nepenthe", "rox", "mmt", "noid", "synthetic blend",
    "jwh", "magic dragon", "california dreams", "flame 2.0", "chill-x", "happy joker king", "marley boy",
    "bomb marley", "24k california", "atomic blast", "cherry bomb", "darkness prince", "dead man walking",
    "down2earth", "hammer head", "jazz mango", "lunar diamond", "mary joy exodus", "mr.big shot",
    "mr.nice guy", "paradox fusion", "shaggy mix", "solar star", "solar super plus", "spicey xxx",
    "tribal warrior ultimate", "warrior ultimate", "wicked x", "ja rush", "ex-ses platinum", "ki fire blend",
    "dro", "schwag", "full melt", "honey oil", "dr.death", "ram", "kif", "pods", "pod tea", "new oxy",
    "real oxy", "real oxys", "tecs", "xone", "lope", "dimo", "statex",
}

# DAO classes whose members are never substances we list (treatments, foods, places...).
SKIP_CLASSES = {
    "Antidepressant", "Antipsychotic", "Bipolar_Treatment", "SSRI", "SNRI", "TCA", "MAOI", "DNRI",
    "Nutritional_Products", "Citrus", "Quinine", "Ethanol", "Nicotine", "Caffeine", "Naloxone",
    "Naltrexone", "Pure_Antagonists", "Nonnarcotic_Anti-imflammatory_Analgesics", "Antihistamines",
    "Cimetidine", "Diphenhydramine", "Antiepileptic", "Herbal-Sedatives",
}

# Literal words that are not names of a drug offer even when the DAO files them under one.
STOP = {
    "drug", "drugs", "pill", "pills", "powder", "dose", "high", "stoned", "the", "and", "addict",
    "addicted", "dependent", "hooked", "fiend", "opioid", "opioids", "opiate", "opiates", "painkiller",
    "painkillers", "pain killer", "pain killers", "medicine", "medication", "tablet", "tablets",
    "generic", "analgesic", "sedative", "stimulant", "hallucinogen", "benzo", "benzos", "ice cream",
}
_JUNK_RE = re.compile(r"(addict|abuse|overdose|withdraw|disorder|syndrome|pain|treatment|^\d+$)", re.I)

_BLOCK_RE = re.compile(r"^###\s+http\S+/DAO/(\S+)\s*$", re.M)
_TYPE_RE = re.compile(r"rdf:type\s+([^;.]+)")
_PROP_RE = re.compile(r":(has_term|has_slang_term|has_brand_name|drug-related)\s+((?:\"[^\"]*\"(?:\^\^\S+)?\s*,?\s*)+)")
_LIT_RE = re.compile(r"\"([^\"]*)\"")
_SUBCLASS_RE = re.compile(r"^:(\S+)\s+rdf:type\s+owl:Class\s*;\s*rdfs:subClassOf\s+:(\S+?)\s*[;.]", re.M | re.S)


def parse_ttl(path: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """Individuals {name: {"types": [...], "term": [...], "slang": [...], "brand": [...]}}, and class parents."""
    text = path.read_text(encoding="utf-8")
    parents = {m.group(1): m.group(2) for m in _SUBCLASS_RE.finditer(text)}
    individuals: dict[str, dict] = {}
    heads = list(_BLOCK_RE.finditer(text))
    for i, head in enumerate(heads):
        body = text[head.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        tm = _TYPE_RE.search(body)
        if not tm or "owl:NamedIndividual" not in tm.group(1):
            continue
        types = [t.strip().lstrip(":") for t in tm.group(1).split(",") if t.strip().startswith(":")]
        ind = individuals.setdefault(head.group(1), {"types": [], "term": [], "slang": [], "brand": []})
        ind["types"] += types
        for pm in _PROP_RE.finditer(body):
            key = {"has_term": "term", "has_slang_term": "slang", "has_brand_name": "brand",
                   "drug-related": "term"}[pm.group(1)]
            ind[key] += [lit.replace("_", " ").strip() for lit in _LIT_RE.findall(pm.group(2))]
    return individuals, parents


def ancestors(cls: str, parents: dict[str, str]) -> list[str]:
    out = []
    while cls and cls not in out:
        out.append(cls)
        cls = parents.get(cls, "")
    return out


def keep(form: str) -> bool:
    f = " ".join(form.split())
    if len(f) < 2 or f.lower() in STOP or f.lower() in REJECT or _JUNK_RE.search(f):
        return False
    return len(f.split()) <= 4


def norm(text: str) -> str:
    import unicodedata
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def load_rows(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def row_forms(row: dict) -> set[str]:
    cells = [row["canonical"]] + [row[c] for c in ("synonyms", "slang", "zh", "es", "ru")]
    return {norm(p) for cell in cells for p in cell.split("|") if p.strip()}


def plan(individuals, parents, rows) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """{row id: {"synonyms": [...], "slang": [...]}} to add, and conflict messages."""
    owner: dict[str, set[str]] = defaultdict(set)
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        for f in row_forms(r):
            owner[f].add(r["id"])
    additions: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"synonyms": [], "slang": []})
    conflicts: list[str] = []
    for name, ind in sorted(individuals.items()):
        lineage = {a for t in ind["types"] for a in ancestors(t, parents)}
        if lineage & SKIP_CLASSES or "Drug" not in lineage and name not in DAO_TO_ID:
            continue
        target = DAO_TO_ID.get(name) or next((DAO_TO_ID[t] for t in ind["types"] if t in DAO_TO_ID), None)
        if target is None:
            hits = {i for t in ind["term"] + [name.replace("_", " ")] for i in owner.get(norm(t), ())}
            target = hits.pop() if len(hits) == 1 else None
        if target is None or target not in by_id:
            continue
        present = row_forms(by_id[target])
        for col, lits in (("synonyms", ind["term"] + ind["brand"]), ("slang", ind["slang"])):
            for lit in lits:
                key = norm(lit)
                if not keep(lit) or key in present:
                    continue
                others = owner.get(key, set()) - {target}
                if others:
                    conflicts.append(f"DAO {name}: {lit!r} for {target} also names {', '.join(sorted(others))}")
                    continue
                present.add(key)
                additions[target][col].append(" ".join(lit.split()))
    return additions, conflicts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ttl", type=Path, default=DEFAULT_TTL)
    ap.add_argument("--csv", type=Path, default=CSV_PATH)
    ap.add_argument("--write", action="store_true", help="write the additions into the CSV")
    args = ap.parse_args(argv)
    individuals, parents = parse_ttl(args.ttl)
    header, rows = load_rows(args.csv)
    additions, conflicts = plan(individuals, parents, rows)
    for rid, cols in sorted(additions.items()):
        for col, forms in cols.items():
            if forms:
                print(f"{rid}\t{col}\t+ {' | '.join(forms)}")
    for c in conflicts:
        print(f"conflict: {c}", file=sys.stderr)
    if args.write:
        for r in rows:
            for col, forms in additions.get(r["id"], {}).items():
                if forms:
                    r[col] = "|".join([p for p in r[col].split("|") if p] + forms)
                    amb = [f for f in forms if norm(f) in AMBIGUOUS]
                    if amb:
                        r["ambiguous"] = "|".join([p for p in r["ambiguous"].split("|") if p] + amb)
                    if "DAO" not in r["source"]:
                        r["source"] += "; DAO slang"
        with args.csv.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, header, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
