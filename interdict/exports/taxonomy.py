"""INTERPOL DW-VA taxonomy labels for exported listings, from the vendored files in data/ (see data/SOURCES.md)."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from index import yamlfile

from index.models import StoredListing

DATA = Path(__file__).resolve().parent / "data"
ENTITIES = DATA / "interpol-dwva-entities.csv"
ABUSES = DATA / "interpol-dwva-abuses.csv"
MAPPING = DATA / "dwva_labels.yaml"
NAMESPACE = "interpol-dwva"


def _clean(value: str) -> str:
    return value.strip().strip('"').strip()


@lru_cache(maxsize=None)
def entities() -> dict[str, str]:
    """Entity id -> label, as published (`;`-separated, values wrapped in quotes and spaces). A few definitions
    hold stray Windows-1252 bytes (0x92 for an apostrophe) among UTF-8: they are replaced, ids are untouched."""
    out = {}
    with open(ENTITIES, encoding="utf-8", errors="replace", newline="") as fh:
        rows = csv.reader(fh, delimiter=";")
        header = next(rows)
        if [_clean(h) for h in header[:2]] != ["id", "label"]:
            raise ValueError(f"{ENTITIES}: line 1: expected columns id;label;…, got {header[:2]}")
        for line, row in enumerate(rows, start=2):
            if len(row) < 2 or not _clean(row[0]):
                raise ValueError(f"{ENTITIES}: line {line}: no entity id")
            out[_clean(row[0])] = _clean(row[1])
    return out


@lru_cache(maxsize=None)
def mapping() -> dict:
    data = yamlfile.load_file(MAPPING)
    known = entities()
    groups = [("always", data.get("always", [])), ("vendor", data.get("vendor", []))]
    groups += [(f"signals.{k}", v) for k, v in data.get("signals", {}).items()]
    groups += [(f"statuses.{k}", v) for k, v in data.get("statuses", {}).items()]
    for where, ids in groups:
        for ent in ids:
            if ent not in known:
                raise ValueError(f"{MAPPING}: {where}: {ent!r} is not an entity id in {ENTITIES.name}")
    return data


def tag(entity_id: str) -> str:
    return f'{NAMESPACE}:entity="{entity_id}"'


def labels(item: StoredListing) -> list[str]:
    """Machine tags for one listing: what it is (shop, vendor), how it is paid and reached, its takedown state."""
    m = mapping()
    ids = list(m.get("always", []))
    if item.listing.vendor:
        ids += m.get("vendor", [])
    for sig in item.listing.analysis.signals:
        ids += m.get("signals", {}).get(sig.type, [])
    ids += m.get("statuses", {}).get(item.review.status, [])
    return [tag(e) for e in dict.fromkeys(ids)]
