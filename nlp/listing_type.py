"""Listing type: substance offer, information/guide, paraphernalia/test kit, harm-reduction product, other.

Naming a substance does not make a listing an offer: "fentanyl test strips", "naloxone", "the fentanyl
book" or "glass pipe packed with any of our strains" are not. Rules are data
(nlp/data/listing_types.yaml); decision order: harm_reduction > information > paraphernalia >
substance_offer > other. The title decides first; the description only when the title is silent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from index import yamlfile

DEFAULT_PATH = Path(__file__).parent / "data" / "listing_types.yaml"
ORDER = ("harm_reduction", "information", "paraphernalia")


def _compile(patterns) -> re.Pattern:
    return re.compile(r"(?<![^\W_])(?:" + "|".join(f"(?:{p})" for p in patterns) + r")(?![^\W_])")


@dataclass
class ListingTypeRules:
    rules: dict[str, re.Pattern]

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ListingTypeRules":
        p = Path(path) if path else DEFAULT_PATH
        try:
            data = yamlfile.load_file(p) or {}
            rules = {name: _compile(data[name]) for name in ORDER if data.get(name)}
        except (OSError, yamlfile.YamlFileError, re.error) as exc:
            raise ValueError(f"{p}: cannot load listing-type rules ({exc})") from None
        return cls(rules)

    def matches(self, norm_text: str) -> dict[str, str]:
        """Every rule family with a match in this normalized text -> the matched words."""
        out = {}
        for name, rx in self.rules.items():
            m = rx.search(norm_text)
            if m:
                out[name] = m.group(0)
        return out

    def classify(self, fields) -> tuple[str, str]:
        """fields: (name, normalized text, has a counting substance hit, has_quantity() callable) per
        field, title first. Returns (listing type, reason)."""
        for name, text, has_substance, has_quantity in fields:
            found = self.matches(text) if text else {}
            # a test strip or naloxone thrown in with a substance sold by weight is still an offer
            if "harm_reduction" in found and not (has_substance and has_quantity()):
                return "harm_reduction", f"{name}: harm-reduction product ({found['harm_reduction']!r})"
            if "information" in found:
                return "information", f"{name}: information/guide ({found['information']!r})"
            if "paraphernalia" in found and not (has_substance and has_quantity()):
                return "paraphernalia", f"{name}: paraphernalia ({found['paraphernalia']!r})"
            if has_substance:
                return "substance_offer", f"{name}: names a substance"
        return "other", "no substance, guide or product recognised"
