"""`interdict_offer_model`: the trained offer classifier as a component of the detection pipeline.

It reads the title (or, without one, the start of the description) and sets ``doc._.offer_model`` to
(P(offer), most likely class, model version); nlp/risk.py turns that into a weighted factor of the
explanation. Off (`enabled = false` in nlp/nlp.cfg) it loads nothing and sets nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch, raise_error

from nlp.textcat import MODEL_DIR, NOT_OFFER, model_text

DESCRIPTION_CHARS = 300          # a listing without title: the description's start stands in for it

if not Doc.has_extension("offer_model"):
    Doc.set_extension("offer_model", default=None)


class OfferModel:
    def __init__(self, enabled: bool, model_path: Path | None, name: str = "interdict_offer_model"):
        self.enabled, self.name = enabled, name
        self.error_handler = raise_error
        self.model: Language | None = None
        if enabled:
            path = model_path or MODEL_DIR
            try:
                self.model = spacy.load(path)
            except OSError as exc:
                raise ValueError(f"{path}: cannot load the offer classifier ({exc}); "
                                 "run `interdict model train`") from None
            self.version = self.model.meta.get("version", "?")

    def _text(self, doc: Doc) -> str:
        views = doc._.fields or []
        title = next((v.text for v in views if v.name == "title"), "")
        return model_text(title or next((v.text[:DESCRIPTION_CHARS] for v in views), ""))

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def set_error_handler(self, handler) -> None:
        """nlp.set_error_handler: a batch the model fails on goes to `handler` (spaCy calls `pipe`, not
        `__call__`, so this component handles its own errors, as spaCy's trainable components do)."""
        self.error_handler = handler

    def get_error_handler(self):
        return self.error_handler

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        if self.model is None:
            yield from docs
            return
        for batch in minibatch(docs, size=batch_size):     # streams: one bounded batch at a time
            try:
                scored = list(self.model.pipe([self._text(d) for d in batch], batch_size=batch_size))
            except Exception as exc:
                self.error_handler(self.name, self, batch, exc)
                continue
            for doc, one in zip(batch, scored):
                cats = one.cats
                cls = max((lb for lb in cats if lb != NOT_OFFER), key=cats.get)
                doc._.offer_model = (round(1.0 - cats[NOT_OFFER], 4), cls, self.version)
                yield doc


@Language.factory("interdict_offer_model", default_config={"enabled": False, "model_path": None})
def make_offer_model(nlp: Language, name: str, enabled: bool, model_path: str | None):
    from nlp.components import _path
    return OfferModel(enabled, _path(model_path), name)
