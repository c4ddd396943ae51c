"""Reading site files: YAML (index.yamlfile, the safe loader) -> `${VAR}` substitution -> `SiteConfig`, with
every problem reported as `file:line: field: reason`, the line found by following pydantic's error location
through the composed YAML tree. One bad file never stops the others."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crawlers.siteconfig.schema import SiteConfig
from index import yamlfile

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SiteConfigError(yamlfile.ConfigFileError):
    """One problem in one site file: `file:line: field: reason` (line 0 when unknown)."""


class SiteConfigErrors(Exception):
    """All problems of one file (a file can have several)."""

    def __init__(self, errors: list[SiteConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


# ---------------------------------------------------------------------------------------------- loading

def _line_of(node: yaml.Node | None, loc: tuple) -> int:
    """Follow a pydantic error location through the composed YAML tree; the deepest node found wins."""
    if node is None:
        return 0
    line = node.start_mark.line + 1
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == part:
                    nxt = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                nxt = node.value[part]
        if nxt is None:
            continue   # union tags and validator names are not YAML keys; skip them
        node = nxt
        line = node.start_mark.line + 1
    return line


def _key_line(node: yaml.Node | None, loc: tuple) -> int:
    """Line of the offending key itself (for unknown fields)."""
    if not loc or node is None:
        return _line_of(node, loc)
    parent_line = _line_of(node, loc[:-1])
    parent = node
    for part in loc[:-1]:
        if isinstance(parent, yaml.MappingNode):
            parent = next((v for k, v in parent.value if getattr(k, "value", None) == part), parent)
        elif isinstance(parent, yaml.SequenceNode) and isinstance(part, int) and part < len(parent.value):
            parent = parent.value[part]
    if isinstance(parent, yaml.MappingNode):
        for k, _ in parent.value:
            if getattr(k, "value", None) == loc[-1]:
                return k.start_mark.line + 1
    return parent_line


_PYDANTIC_NOISE = {"function-after", "function-before", "function-wrap", "function-plain", "tagged-union",
                   "union", "str", "int", "float", "bool", "list", "dict", "none", "literal"}


def _clean_loc(loc: tuple) -> tuple:
    out = []
    for part in loc:
        if isinstance(part, str) and (part.split("[")[0] in _PYDANTIC_NOISE or part.startswith(
                ("function-", "json-or-python", "lax-or-strict", "nullable", "model-fields"))):
            continue
        if isinstance(part, str) and part[:1].isupper() and part.isidentifier():   # model class name in unions
            continue
        out.append(part)
    return tuple(out)


def _substitute(value: Any, path: tuple, errors: list, file: str, root: yaml.Node | None):
    """Replace ${VAR} / ${VAR:-default} in every string; an unset variable without default is an error."""
    if isinstance(value, dict):
        return {k: _substitute(v, path + (k,), errors, file, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path + (i,), errors, file, root) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def repl(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        env = os.environ.get(name)
        if env is not None and env != "":
            return env
        if default is not None:
            return default
        errors.append(SiteConfigError(file, _line_of(root, path), _dotted(path),
                                      f"environment variable {name} is not set (and no ${{{name}:-default}})"))
        return m.group(0)

    return _ENV_REF.sub(repl, value)


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out


def parse_site(text: str, file: str | Path = "<string>", expect_id: str | None = None) -> SiteConfig:
    """Validate one site document; raise SiteConfigErrors listing every problem with its line."""
    file = str(file)
    try:
        root = yamlfile.compose(text, file)
        data = yamlfile.construct(root)
    except yamlfile.YamlFileError as exc:
        raise SiteConfigErrors([SiteConfigError(file, exc.line, exc.field, exc.reason)]) from None
    if not isinstance(data, dict):
        raise SiteConfigErrors([SiteConfigError(file, 1, "", "a site file must be a mapping of fields")])
    errors: list[SiteConfigError] = []
    data = _substitute(data, (), errors, file, root)
    if errors:
        raise SiteConfigErrors(errors)
    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = _clean_loc(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                line = _key_line(root, loc)
                reason = "unknown field"
            else:
                line = _line_of(root, loc)
                reason = err["msg"].removeprefix("Value error, ")
                if err["type"] == "missing":
                    reason = "required field is missing"
            errors.append(SiteConfigError(file, line, _dotted(loc), reason))
        raise SiteConfigErrors(_dedupe(errors)) from None
    if expect_id and site.id != expect_id:
        raise SiteConfigErrors([SiteConfigError(file, _line_of(root, ("id",)), "id",
                                                f"id {site.id!r} must match the file name {expect_id!r}")])
    site.source_file = file
    return site


def _dedupe(errors: list[SiteConfigError]) -> list[SiteConfigError]:
    seen, out = set(), []
    for e in errors:
        k = (e.line, e.field, e.reason)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def site_files(directory: Path) -> list[Path]:
    """`<id>.yaml` files; names starting with `_` or `.` and `*.disabled` are ignored."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.suffix in (".yaml", ".yml") and not p.name.startswith(("_", ".")))


def load_site_file(path: Path) -> SiteConfig:
    try:
        text = yamlfile.read_text(path)
    except OSError as exc:
        raise SiteConfigErrors([SiteConfigError(path, 0, "", f"cannot read: {exc}")]) from None
    except yamlfile.YamlFileError as exc:
        raise SiteConfigErrors([SiteConfigError(exc.file, exc.line, exc.field, exc.reason)]) from None
    return parse_site(text, path, expect_id=path.stem)


def load_sites(directory: Path) -> tuple[dict[str, SiteConfig], list[SiteConfigError]]:
    """Every valid site, plus every error of the invalid ones. One bad file never hides the others."""
    sites: dict[str, SiteConfig] = {}
    errors: list[SiteConfigError] = []
    for path in site_files(directory):
        try:
            site = load_site_file(path)
        except SiteConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        sites[site.id] = site
    return sites, errors


def load_site(site_id: str, directory: Path) -> SiteConfig:
    """One site by id; raises SiteConfigErrors (bad file) or KeyError (no such site, message lists known ones)."""
    directory = Path(directory)
    for ext in (".yaml", ".yml"):
        path = directory / f"{site_id}{ext}"
        if path.is_file():
            return load_site_file(path)
    known = ", ".join(p.stem for p in site_files(directory)) or "none"
    raise KeyError(f"no site {site_id!r} in {directory} (known: {known})")
