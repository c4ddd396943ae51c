"""Runtime settings: config/settings.yaml defaults, overridden by INTERDICT_* environment variables."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


CONFIG_DIR = Path(os.environ.get("INTERDICT_CONFIG_DIR", Path(__file__).resolve().parent.parent / "config"))


@lru_cache(maxsize=None)
def _defaults() -> dict:
    from index import yamlfile
    return yamlfile.load_file(CONFIG_DIR / "settings.yaml") or {}


def get(key: str, default=None):
    env = os.environ.get("INTERDICT_" + key.upper())
    if env is not None:
        return env
    return _defaults().get(key, default)


def data_dir() -> Path:
    path = Path(get("data_dir", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path
