"""Reading the nlp's YAML rule files: one place that turns an unreadable file or a bad regex into an error
naming the file (and the field)."""
from __future__ import annotations

import re
from pathlib import Path

from index import yamlfile


def read_yaml(path: str | Path, what: str) -> tuple[Path, dict]:
    """(path, mapping) of a rule file; ValueError "<path>: cannot read <what> (<reason>)" if it cannot be read."""
    p = Path(path)
    try:
        data = yamlfile.load_file(p) or {}
    except (OSError, yamlfile.YamlFileError) as exc:
        raise ValueError(f"{p}: cannot read {what} ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: cannot read {what} (the file is not a mapping)")
    return p, data


def compile_regex(value, path: Path, where: str) -> re.Pattern | None:
    """A rule file's regex (None when empty); ValueError "<path>: <where>: bad regular expression (...)"."""
    if not value:
        return None
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise ValueError(f"{path}: {where}: bad regular expression ({exc})") from None
