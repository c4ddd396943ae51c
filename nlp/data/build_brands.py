"""Medicine brand names from the `drug-named-entity-recognition` package, mapped onto substances.csv.

The package (MIT licence, Fast Data Science; data from DrugBank, MeSH and Wikipedia) ships a table of
drug name variants -> generic names (Xanax -> alprazolam, Zamadol -> tramadol). Brands are not typed by
hand: this script keeps every variant that maps to exactly one of our rows through that row's own name,
and writes them to brands.csv, which nlp/kb.py loads as synonyms of the row (`via: synonym`). Kept out:

* variants shorter than MIN_LEN letters, and anything but words of letters and digits joined by spaces or
  hyphens, starting with a letter (index entries "citrate, sildenafil", wiki markup, locants "1-phenyl-");
* variants that are already a surface form of any row (never shadow or collide with a reviewed form);
* variants that map to several generics, or whose generic names several rows;
* precursor rows (chemicals: no medicine brands) and lawful retail products;
* the reviewed REJECT list of ordinary words.

Usage::

    python nlp/data/build_brands.py            # report how many brands per row would be written
    python nlp/data/build_brands.py --write    # rewrite nlp/data/brands.csv

tests/nlp/test_kb.py asserts the shipped brands.csv is what this script builds from the installed package.
"""
from __future__ import annotations

import argparse
import bz2
import csv
import importlib.util
import io
import pickle
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_PATH = HERE / "brands.csv"
PACKAGE = "drug_named_entity_recognition"
MIN_LEN = 6      # five-letter brands are too often words of some language ("kalma", "marol")
# reviewed: words of ordinary text or trade, not a medicine on offer ("genetics" is one edit from "generics")
REJECT = frozenset({"generics", "genpharm", "planum", "mappin", "maalox", "propion", "promet", "procomp",
                    "liberize", "optimil"})
NAME = re.compile(r"[a-z][a-z0-9]*(?:[ -][a-z0-9]+)*")
HEADER = ("brand", "id", "generic")


def package_table() -> dict[str, list[str]]:
    """variant -> generic names, as the installed package ships them (its own bundled data file)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{PACKAGE} is not installed (pip install drug-named-entity-recognition)")
    data_file = Path(spec.origin).parent / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(data_file, "rb") as fh:        # the package's own data, as its code loads it
        return pickle.load(fh)["drug_variant_to_canonical"]


def build_rows(kb=None, table: dict[str, list[str]] | None = None) -> list[tuple[str, str, str]]:
    """(brand, row id, generic) for every variant kept, sorted."""
    from nlp.kb import load_kb, norm_form
    kb = kb or load_kb(with_brands=False)
    table = table if table is not None else package_table()
    owners: dict[str, set[str]] = defaultdict(set)
    for f in kb.forms:
        owners[norm_form(f.text)].add(f.substance_id)
    excluded = {sid for sid, s in kb.substances.items() if s.cls == "precursor"} | _lawful()
    generic_row: dict[str, str] = {}
    for generic in {g for gs in table.values() for g in gs}:
        ids = owners.get(norm_form(generic))
        if ids and len(ids) == 1 and not ids & excluded:
            generic_row[generic] = next(iter(ids))
    rows: dict[str, tuple[str, str, str]] = {}
    clash: set[str] = set()
    for variant, generics in table.items():
        key = norm_form(variant)
        ids = {generic_row.get(g) for g in generics}
        if (None in ids or len(ids) != 1 or key in owners or key in REJECT or not NAME.fullmatch(key)
                or sum(c.isalpha() for c in key) < MIN_LEN):
            continue
        sid = ids.pop()
        if key in rows and rows[key][1] != sid:
            clash.add(key)
        rows.setdefault(key, (key, sid, generics[0]))
    return sorted(r for k, r in rows.items() if k not in clash)


def _lawful() -> set[str]:
    from nlp.risk import ScoringConfig
    return set(ScoringConfig.load().lawful_products)


def render(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"rewrite {OUT_PATH.name}")
    args = ap.parse_args(argv)
    rows = build_rows()
    per_row: dict[str, int] = defaultdict(int)
    for _, sid, _ in rows:
        per_row[sid] += 1
    print(f"{len(rows)} brand names for {len(per_row)} rows")
    if args.write:
        OUT_PATH.write_text(render(rows), encoding="utf-8")
        print(f"wrote {OUT_PATH}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    raise SystemExit(main())
