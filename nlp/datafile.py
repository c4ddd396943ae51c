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


class DataFiles:
    """to_disk/from_disk for a component whose state is the data files it was initialised from: the files
    are copied as they are into the component's directory and read back with the same loaders, so a saved
    pipeline (`nlp.to_disk`, `spacy.load`) analyses exactly like the one that was saved.

    A subclass sets `self.files` ({file name in the directory: source path}) when it loads and implements
    `load_files(**{key: path})`, whose keys are the file names without suffix."""

    files: dict[str, Path]

    def to_disk(self, path: str | Path, *, exclude=()) -> None:
        if not getattr(self, "files", None):
            raise ValueError(f"{type(self).__name__}: not initialised (call nlp.initialize()), nothing to save")
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        for name, src in self.files.items():
            (out / name).write_bytes(Path(src).read_bytes())

    def from_disk(self, path: str | Path, *, exclude=()):
        src = Path(path)
        names = {p.name for p in src.iterdir()} if src.is_dir() else set()
        if not names:
            raise ValueError(f"{src}: no data files of {type(self).__name__} (saved by nlp.to_disk)")
        self.load_files(**{Path(n).stem: src / n for n in sorted(names)})
        return self
