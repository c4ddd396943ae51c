"""Where the suite and the benchmarks find their reference data: tests/data in the repository (provenance in
tests/data/README.md), so a fresh clone needs nothing beside it. INTERDICT_SHARED_DIR=/path overrides it with
/path/data laid out the same way (to run the same checks on another copy or a held-out split)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ["INTERDICT_SHARED_DIR"]) / "data" if os.environ.get("INTERDICT_SHARED_DIR") \
    else ROOT / "tests" / "data"
AGORA_DEV = SHARED_DATA / "agora-2014-dev.csv"
DAO_TTL = SHARED_DATA / "reference" / "drug-abuse-ontology.ttl"
