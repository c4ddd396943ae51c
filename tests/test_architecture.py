"""Imports follow the data flow: crawlers -> nlp -> index, with the app shell `interdict` on top.

crawlers may import nlp and index; nlp may import index; index imports neither; no layer imports the shell.
A violation here means a dependency loop that makes layers impossible to test or deploy alone.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "index": {"nlp", "crawlers", "interdict"},
    "nlp": {"crawlers", "interdict"},
    "crawlers": {"interdict"},
}


def imported_packages(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_does_not_import_downstream(package):
    bad = [f"{p.relative_to(ROOT)}:{line}: imports {mod}"
           for p in sorted((ROOT / package).rglob("*.py"))
           for line, mod in imported_packages(p) if mod in FORBIDDEN[package]]
    assert not bad, "\n".join(bad)


def test_rule_sees_a_violation(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("import os\nfrom interdict.cli import app\n")
    assert [m for _, m in imported_packages(bad)] == ["os", "interdict"]
