"""The one YAML loader of every config reader (site configs and their schedules, settings, nlp rule files).

YAML is safe-loaded (no Python objects) and bounded: a file larger than MAX_BYTES, nesting deeper than
MAX_DEPTH, more than MAX_NODES nodes once aliases are counted expanded (the "billion laughs" document is
a few hundred bytes that expand to 10^9 nodes), or an alias inside its own anchor (a cycle) is refused
while composing, before anything walks the document. Every problem is a YamlFileError in the project's
`file:line: field: reason` form.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000           # the largest config file has ~2,000


class ConfigFileError(Exception):
    """One problem in one config file: `file:line: field: reason` (line 0 when unknown; field empty at the top
    level). The project's error style for every file an operator writes."""

    def __init__(self, file: str | Path, line: int, field: str, reason: str):
        self.file, self.line, self.field, self.reason = str(file), line, field, reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(top level)'}: {self.reason}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason}


class YamlFileError(ConfigFileError, yaml.YAMLError):
    """The YAML itself is unreadable, malformed or beyond the limits."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts depth and expanded size, and knows the key path it is in."""

    def __init__(self, stream: str, file: str):
        super().__init__(stream)
        self.file = file
        self.depth = self.total = 0
        self.path: list[str | int] = []
        self.size: dict[int, int] = {}      # id(node) -> its size with aliases expanded, once composed

    def fail(self, mark, reason: str) -> YamlFileError:
        return YamlFileError(self.file, mark.line + 1 if mark else 0, _dotted(self.path), reason)

    def fetch_flow_collection_start(self, TokenClass):
        """`[[[[…` is refused by the scanner itself: it would otherwise look ahead over every bracket."""
        if self.flow_level >= MAX_DEPTH:
            raise self.fail(self.get_mark(), f"nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent, index):
        key = index.value if isinstance(index, yaml.ScalarNode) else index
        if key is not None:
            self.path.append(key)
        try:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                node = super().compose_node(parent, index)
                if id(node) not in self.size:
                    raise self.fail(event.start_mark, f"alias *{event.anchor} is inside its own anchor (a cycle)")
                self.grow(self.size[id(node)], event.start_mark)
                return node
            mark = self.peek_event().start_mark
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(mark, f"nested deeper than {MAX_DEPTH} levels")
            before = self.total
            self.grow(1, mark)
            node = super().compose_node(parent, index)
            self.size[id(node)] = self.total - before
            self.depth -= 1
            return node
        finally:
            if key is not None:
                self.path.pop()

    def grow(self, n: int, mark) -> None:
        self.total += n
        if self.total > MAX_NODES:
            raise self.fail(mark, f"more than {MAX_NODES} values once aliases are expanded (an alias bomb?)")


def _dotted(path: list) -> str:
    if len(path) > 8:                   # a deep path stays a short line: its start and its end
        return _dotted(path[:4]) + "…" + _dotted(path[-3:])
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out


def compose(text: str, file: str | Path = "<string>") -> yaml.Node | None:
    """The node tree of one YAML document (it keeps the line of every value), within the limits."""
    loader = _BoundedLoader(text, str(file))
    try:
        return loader.get_single_node()
    except YamlFileError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlFileError(file, mark.line + 1 if mark else 0, _dotted(loader.path),
                            f"YAML syntax: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(file, 0, "", f"YAML syntax: {exc}") from None
    finally:
        loader.dispose()


def construct(node: yaml.Node | None) -> Any:
    """Plain Python values (dict, list, str, int, float, bool, None, dates) of a composed tree."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlFileError("<yaml>", mark.line + 1 if mark else 0, "", str(exc.problem or exc)) from None
    except (ValueError, TypeError, OverflowError) as exc:      # e.g. a timestamp like 2024-13-45
        raise YamlFileError("<yaml>", 0, "", f"bad value: {exc}") from None
    finally:
        loader.dispose()


def load_text(text: str, file: str | Path = "<string>") -> Any:
    node = compose(text, file)
    try:
        return construct(node)
    except YamlFileError as exc:
        raise YamlFileError(file, exc.line, exc.field, exc.reason) from None


def read_text(path: str | Path) -> str:
    """A config file's text, refusing one larger than MAX_BYTES without reading it whole."""
    p = Path(path)
    with open(p, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise YamlFileError(p, 0, "", f"larger than {MAX_BYTES} bytes; not a config file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise YamlFileError(p, line, "", f"not UTF-8 (byte {exc.start})") from None


def load_file(path: str | Path) -> Any:
    """Safe-load one YAML file (OSError if it cannot be opened, YamlFileError for everything else)."""
    return load_text(read_text(path), path)
