"""Train the offer classifier from nlp/textcat/config.cfg: reproducible (fixed seed), in-process, minutes on 2 cores.

`train(examples)` returns a spaCy pipeline; `save` writes it with meta.json (version, training-data hash,
scores); `cross_validate` trains on four vendor folds and scores the fifth (nlp/textcat/cv.py reads it).
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

import spacy
from spacy.language import Language
from spacy.training import Example as SpacyExample
from spacy.util import fix_random_seed, load_config, minibatch, registry

from nlp.textcat import NOT_OFFER, model_text
from nlp.textcat.data import LABELS, Example, data_hash

CONFIG_PATH = Path(__file__).resolve().parent / "config.cfg"
MODEL_NAME = "offer_textcat"
MODEL_VERSION = "1.0.0"


def _config(overrides: dict | None = None):
    return load_config(CONFIG_PATH, overrides=overrides or {}, interpolate=True)


def train(examples: Sequence[Example], seed: int | None = None, epochs: int | None = None) -> Language:
    """A blank pipeline with the configured textcat, trained on `examples` with a fixed seed."""
    cfg = _config()
    tcfg = cfg["training"]
    seed = int(tcfg["seed"] if seed is None else seed)
    fix_random_seed(seed)
    nlp = spacy.blank(cfg["nlp"]["lang"])
    settings = dict(cfg["components"]["textcat"])
    settings.pop("factory", None)
    textcat = nlp.add_pipe("textcat", config=settings)
    for label in LABELS:
        textcat.add_label(label)
    data = [SpacyExample.from_dict(nlp.make_doc(model_text(e.text)),
                                   {"cats": {lb: float(lb == e.label) for lb in LABELS}}) for e in examples]
    optimizer = registry.resolve({"o": tcfg["optimizer"]})["o"]
    nlp.initialize(lambda: data, sgd=optimizer)
    rng = random.Random(seed)
    for _ in range(int(tcfg["max_epochs"] if epochs is None else epochs)):
        rng.shuffle(data)
        losses: dict = {}
        for batch in minibatch(data, size=int(tcfg["batch_size"])):
            nlp.update(batch, sgd=optimizer, drop=float(tcfg["dropout"]), losses=losses)
    return nlp


def predict(nlp: Language, titles: Sequence[str]) -> list[tuple[float, str]]:
    """(offer probability, most likely class) per title: P(offer) = 1 - P(not_offer)."""
    out = []
    for doc in nlp.pipe((model_text(t) for t in titles), batch_size=256):
        cats = doc.cats
        cls = max((lb for lb in cats if lb != NOT_OFFER), key=cats.get)
        out.append((1.0 - cats[NOT_OFFER], cls))
    return out


def save(nlp: Language, path: Path, examples: Sequence[Example], seed: int, scores: dict) -> None:
    """to_disk plus meta.json: name, version, seed, training-data hash and size, cross-validated scores."""
    nlp.meta.update({
        "name": MODEL_NAME, "version": MODEL_VERSION, "lang": nlp.lang,
        "description": "Offer / not-offer and drug class from a listing title (interdict, nlp/textcat)",
        "labels": {"textcat": list(LABELS)},
        "interdict": {"seed": seed, "training_examples": len(examples),
                      "training_data_sha256": data_hash(examples), "scores": scores},
    })
    nlp.to_disk(path)
    # spaCy writes meta.json itself; re-read to fail loudly if it did not keep our keys
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("interdict", {}).get("training_data_sha256") != data_hash(examples):
        raise RuntimeError(f"{path}/meta.json: training-data hash not written")


def build(agora_csv: Path, out: Path, seed: int | None = None, epochs: int | None = None,
          with_cv: bool = True) -> dict:
    """The whole of `interdict model train`: cross-validate, train on every development row plus the
    knowledge-base examples, write the pipeline to `out`. Returns the scores written to meta.json."""
    from nlp.textcat.cv import cross_validate
    from nlp.textcat.data import agora_examples, kb_examples

    seed = int(_config()["training"]["seed"] if seed is None else seed)
    agora = list(agora_examples(agora_csv))
    generated = kb_examples(seed)
    scores = cross_validate(agora, generated, seed, epochs=epochs) if with_cv else {}
    examples = agora + generated
    save(train(examples, seed=seed, epochs=epochs), out, examples, seed, scores)
    return scores
