"""Where the project's read-only reference data lives: ../shared/data next to the repository (as in CI), or
$INTERDICT_SHARED_DIR/data for a checkout elsewhere (a clone in /tmp)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("INTERDICT_SHARED_DIR") or ROOT.parent / "shared") / "data"
