"""Build the detection pipeline from nlp/nlp.cfg (package data) with spaCy's config system:
`spacy.util.load_model_from_config` creates spacy.blank(lang) and our registered components, then
`nlp.initialize()` loads each component's data files from `[initialize.components]` (`[paths]`).

No model is downloaded: every component is ours (nlp/components.py, nlp/stages.py,
nlp/textcat/component.py) and its data ships in nlp/data. A built pipeline saves with `nlp.to_disk(dir)`
and loads back with `spacy.load(dir)` (after `import nlp.pipeline`, which registers the factories).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterable

import spacy
from spacy.language import Language
from spacy.tokens import Doc

import nlp.components  # noqa: F401  (registers the factories)
import nlp.stages  # noqa: F401

CONFIG_NAME = "nlp.cfg"


def default_config_text() -> str:
    """The shipped pipeline config (nlp/nlp.cfg), read as package data."""
    return resources.files("nlp").joinpath(CONFIG_NAME).read_text(encoding="utf-8")


def build_nlp(config_path: str | Path | None = None, overrides: dict | None = None,
              policy: dict | None = None) -> Language:
    """The initialised pipeline described by the config (default: the shipped nlp/nlp.cfg).

    `overrides` are dotted keys, as spaCy takes them: {"components.interdict_substances.fuzzy": False},
    {"paths.lexicon": "my.csv"}. `policy` overrides flagging-policy keys of nlp/scoring.yaml (a site's
    own policy).
    """
    where = str(config_path) if config_path else f"nlp/{CONFIG_NAME}"
    overrides = {**(overrides or {}), **({"components.interdict_risk.policy": policy} if policy else {})}
    try:
        text = Path(config_path).read_text(encoding="utf-8") if config_path else default_config_text()
        cfg = spacy.util.load_config_from_str(text, overrides=overrides, interpolate=False)
    except Exception as exc:  # spaCy raises several types for unreadable configs
        raise ValueError(f"{where}: cannot read pipeline config ({exc})") from None
    missing = [n for n in cfg.get("nlp", {}).get("pipeline", []) if n not in cfg.get("components", {})]
    if missing:
        raise ValueError(f"{where}: [components.{missing[0]}] missing for pipeline entry {missing[0]!r}")
    nlp = spacy.util.load_model_from_config(cfg, auto_fill=True, validate=True)
    nlp.initialize()
    return nlp


class PipeErrors:
    """The error handler of `nlp.pipe` (`nlp.set_error_handler`): a document a component fails on is
    dropped from the stream and recorded here, and the other documents go on. Each record names the
    document (`doc.user_data["ref"]`, and "pos", its place in the batch), the component and the error."""

    def __init__(self):
        self.records: list[dict] = []

    def __call__(self, name: str, component, docs: Iterable[Doc], exc: Exception) -> None:
        for doc in docs:
            self.records.append({"ref": doc.user_data.get("ref"), "pos": doc.user_data.get("pos"),
                                 "component": name, "error": f"{type(exc).__name__}: {exc}"})

    def take(self) -> list[dict]:
        """The records since the last call (and forget them)."""
        out, self.records = self.records, []
        return out
