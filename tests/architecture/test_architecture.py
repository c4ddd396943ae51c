"""Imports follow the data flow: crawlers -> nlp -> index, with the app shell `interdict` on top.

crawlers may import nlp and index; nlp may import index; index imports neither; no layer imports the shell.
A violation here means a dependency loop that makes layers impossible to test or deploy alone.

Lazy imports count too: an import inside a function, `importlib.import_module("…")` / `__import__("…")`, and a
string naming one of the project's modules by its dotted path, which something loads later (a Scrapy setting
such as "crawlers.pipelines.BatchPipeline", an APScheduler job "crawlers.scheduler.jobs:scheduled_crawl", the
module of `python -m`). A string that merely looks dotted ("interdict.db", a file name) names no module and
does not count.
"""
import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "index": {"nlp", "crawlers", "interdict"},
    "nlp": {"crawlers", "interdict"},
    "crawlers": {"interdict"},
}
IMPORTERS = {"import_module", "__import__"}
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_][\w.]*)?")


def _module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def _top_level_names(path: Path) -> frozenset[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and \
                    isinstance(node.value, (ast.List, ast.Tuple)):   # names a module __getattr__ provides
                names.update(e.value for e in node.value.elts if isinstance(e, ast.Constant))
    return frozenset(names)


def names_module(dotted: str) -> bool:
    """True when `dotted` ("pkg.mod", "pkg.mod.Attr", "pkg.mod:func") is the path of a module of the project,
    or of a name defined in one: the longest prefix that is a module file, then at most attributes of it."""
    parts = dotted.split(":")[0].split(".")
    for n in range(len(parts), 0, -1):
        module = _module_file(parts[:n])
        if module is not None:
            return n == len(parts) or parts[n] in _top_level_names(module)
    return False


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of the file, eager or lazy, in line order."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and _called_name(node.func) in IMPORTERS and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not arg.value.startswith("."):
                found.add((node.lineno, arg.value.split(".")[0]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.fullmatch(node.value) \
                and names_module(node.value):
            found.add((node.lineno, node.value.split(".")[0]))
    return sorted(found)


def violations(package: str, tree: Path = ROOT) -> list[str]:
    """`file:line: imports pkg` for every import of a downstream package by the files of `tree/package`."""
    return [f"{p.relative_to(tree)}:{line}: imports {mod}"
            for p in sorted((tree / package).rglob("*.py"))
            for line, mod in imported_packages(p) if mod in FORBIDDEN[package]]


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_does_not_import_downstream(package):
    bad = violations(package)
    assert not bad, "\n".join(bad)


def test_rule_sees_a_violation(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("import os\nfrom interdict.cli import app\n")
    assert [m for _, m in imported_packages(bad)] == ["os", "interdict"]


def test_rule_sees_lazy_and_string_imports(tmp_path):
    """Each of these reaches the shell from the crawl layer without an import statement at module level."""
    (tmp_path / "crawlers").mkdir()
    (tmp_path / "crawlers" / "settings.py").write_text(
        "import importlib\n"
        "def late():\n"
        "    from interdict.web import app\n"                                          # 3: function-level
        "    importlib.import_module('interdict.alerts')\n"                            # 4: importlib
        "    return __import__('interdict')\n"                                         # 5: __import__
        "SETTINGS = {'ITEM_PIPELINES': {'interdict.web.app.create_app': 300}}\n"      # 6: Scrapy dotted path
        "JOB = 'interdict.cli:app'\n"                                                   # 7: entry-point style
        "CMD = ['python', '-m', 'interdict.cli']\n"                                     # 8: python -m
        "DB = 'interdict.db'\n"                                                         # a file name: no module
        "NOTE = 'see interdict.cli for the commands'\n"                                 # prose: not a path
        "OWN = 'crawlers.pipelines.BatchPipeline'\n")                                   # own layer: allowed
    assert violations("crawlers", tmp_path) == [f"crawlers/settings.py:{n}: imports interdict" for n in range(3, 9)]


def test_dotted_strings_count_only_when_they_name_a_module():
    assert names_module("crawlers.pipelines.BatchPipeline") and names_module("crawlers.scheduler.jobs:scheduled_crawl")
    assert names_module("interdict.cli") and names_module("index.open_store")   # a name of a package's __init__
    assert names_module("crawlers.socks.SocksDownloadHandler")   # in __all__, built by the module's __getattr__
    assert not names_module("interdict.db") and not names_module("crawlers.pipelines.NoSuchThing")
