"""The trained offer classifier beside the rules: a spaCy textcat on a blank pipeline (nlp/models/offer_textcat).

The rules find substances, signals and their offsets (the evidence); the classifier reads the title and says
how likely it is an offer of a drug, and of which class. Its score is one factor of the risk explanation
(nlp/risk.py, weight `model` in nlp/scoring.yaml). `interdict model train` rebuilds it (nlp/textcat/train.py).
"""
from __future__ import annotations

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "offer_textcat"
NOT_OFFER = "not_offer"


def model_text(title: str) -> str:
    """What the classifier reads: the title, case-folded, spaces collapsed (the rules handle obfuscation)."""
    return " ".join(title.casefold().split())
