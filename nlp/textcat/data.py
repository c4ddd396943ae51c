"""Training examples for the offer classifier: Agora development rows and knowledge-base templates.

Agora rows come only from development vendors (nlp/eval_split.py): the frozen slice is never read for
training. A row's label is its Agora truth (nlp/data/agora_mapping.yaml): `not_offer` for a category that
should not flag, the class of its main substance for a drug offer (`other` for mixed categories); rows the
mapping does not score are skipped. Knowledge-base examples put every substance's names into the templates
of nlp/textcat/templates.yaml, so names no Agora title uses are seen at least once.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from nlp.datafile import read_yaml
from nlp.eval_split import fold_of, is_frozen
from nlp.evaluate import AgoraMapping, read_agora
from nlp.kb import CLASSES, load_kb
from nlp.textcat import NOT_OFFER

TEMPLATES_PATH = Path(__file__).resolve().parent / "templates.yaml"
LABELS = (NOT_OFFER, *CLASSES)
NAMES_PER_SUBSTANCE = 2          # the canonical name and the first synonym


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    fold: int                    # vendor fold of an Agora row; -1 for a generated example
    id: str = ""


def agora_examples(path: str | Path, mapping: AgoraMapping | None = None) -> Iterator[Example]:
    """Labelled development rows (never the frozen slice), streamed, with their vendor fold."""
    mapping = mapping or AgoraMapping()
    for row in read_agora(path):
        vendor = row.get("vendor") or ""
        if is_frozen(vendor):
            continue
        truth = mapping.truth(row["cat"], row["subcat"], row["subsubcat"])
        if truth.flag is None or not (row.get("title") or "").strip():
            continue
        label = (truth.cls or "other") if truth.flag else NOT_OFFER
        yield Example(row["title"], label, fold_of(vendor), row["id"])


def kb_examples(seed: int, templates_path: Path | None = None) -> list[Example]:
    """Offers and non-offers built from the knowledge base's names (one offer and one non-offer template
    drawn per name, by a seeded generator), plus the fixed non-offers of the templates file."""
    p, data = read_yaml(templates_path or TEMPLATES_PATH, "textcat templates")
    for key in ("offer", "not_offer_with_name", "not_offer"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise ValueError(f"{p}: {key}: missing or not a non-empty list")
    rng = random.Random(seed)
    kb = load_kb()
    names: dict[str, list[str]] = {}
    for form in kb.forms:
        if form.via in ("name", "synonym") and not form.ambiguous and form.lang in ("en", ""):
            have = names.setdefault(form.substance_id, [])
            if len(have) < NAMES_PER_SUBSTANCE and form.text not in have:
                have.append(form.text)
    out = []
    for sid in sorted(names):
        cls = kb.substances[sid].cls
        for name in names[sid]:
            out.append(Example(rng.choice(data["offer"]).format(name=name), cls, -1))
            out.append(Example(rng.choice(data["not_offer_with_name"]).format(name=name), NOT_OFFER, -1))
    out.extend(Example(str(t), NOT_OFFER, -1) for t in data["not_offer"])
    return out


def data_hash(examples: Iterable[Example]) -> str:
    """SHA-256 over the (text, label) pairs in training order: the model's meta.json records it."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(f"{ex.label}\t{ex.text}\n".encode("utf-8"))
    return h.hexdigest()
