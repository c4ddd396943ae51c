"""The value types of a site file: durations ('30m'), sizes ('10MB'), environment variable names, and the
strict base every schema model shares (an unknown key is an error at its line, never silently ignored)."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
MAX_DURATION = 366 * 86400
_DURATION_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_BYTE_UNITS = {None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
               "gb": 1000**3, "gib": 1024**3}


class StrictModel(BaseModel):
    """Base of every site-file model: extra keys are errors (a typo must not silently drop a setting)."""
    model_config = ConfigDict(extra="forbid", frozen=False)


def parse_duration(value: Any) -> float:
    """'90s', '30m', '6h', '1d', '500ms' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 10m, 6h, 1d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 10m, 6h, 1d)")
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if not seconds <= MAX_DURATION:         # also nan and inf: timers and dates overflow beyond this
        raise ValueError(f"a duration is at most {MAX_DURATION // 86400}d, got {str(value)[:40]!r}")
    return seconds


def parse_bytes(value: Any) -> int:
    """'10MB', '512KiB' or a number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size like 10MB")
    if isinstance(value, (int, float)):
        n = int(value)
    else:
        m = _BYTES.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a size (use e.g. 500KB, 10MB)")
        n = int(float(m.group(1)) * _BYTE_UNITS[(m.group(2) or "b").lower()])
    if n < 0:
        raise ValueError("a size cannot be negative")
    return n
