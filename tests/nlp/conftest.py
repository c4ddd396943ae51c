"""NLP layer fixtures: one Analyzer (the shipped pipeline) for the whole session; building it is the slow part."""
from __future__ import annotations

import pytest

from nlp.analyze import Analyzer


@pytest.fixture(scope="session")
def analyzer():
    return Analyzer()
