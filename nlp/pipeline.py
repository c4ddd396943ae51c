"""Build the detection pipeline from nlp/nlp.cfg: spacy.blank(lang) + our registered components.

No model is downloaded: every component is ours (nlp/components.py) and its data ships in nlp/data.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import spacy
from spacy.language import Language

import nlp.components  # noqa: F401  (registers the factories)

DEFAULT_CONFIG = resources.files("nlp") / "nlp.cfg"     # package data: an installed wheel has it


def build_nlp(config_path: str | Path | None = None, overrides: dict | None = None,
              policy: dict | None = None) -> Language:
    """The pipeline described by the config file (default nlp/nlp.cfg).

    `overrides` are dotted keys, as spaCy takes them: {"components.interdict_substances.fuzzy": False}.
    `policy` overrides flagging-policy keys of nlp/scoring.yaml (a site's own policy).
    """
    path = Path(config_path) if config_path else DEFAULT_CONFIG
    overrides = {**(overrides or {}), **({"components.interdict_risk.policy": policy} if policy else {})}
    try:
        cfg = spacy.util.load_config(path, overrides=overrides, interpolate=True)
    except Exception as exc:  # spaCy raises several types for unreadable configs
        raise ValueError(f"{path}: cannot read pipeline config ({exc})") from None
    section = cfg.get("nlp", {})
    nlp = spacy.blank(section.get("lang", "xx"))
    components = cfg.get("components", {})
    for name in section.get("pipeline", []):
        if name not in components:
            raise ValueError(f"{path}: [components.{name}] missing for pipeline entry {name!r}")
        settings = dict(components[name])
        factory = settings.pop("factory", name)
        nlp.add_pipe(factory, name=name, config=settings)
    nlp.batch_size = int(section.get("batch_size", 128))
    return nlp
