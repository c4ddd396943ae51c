"""The web app's shape, as FastAPI's own docs build one: every route declares what it answers, filtered routes
show their filters in the OpenAPI document, and no module of interdict.web imports itself back in a cycle
(a cycle forces function-level imports and breaks importing one module alone)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute

from index.sqlite_store import SqliteStore
from interdict.web.app import create_app
from interdict.web.config import WebSettings
from interdict.web.queries import Filters

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "interdict" / "web"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web-structure")
    store = SqliteStore(tmp / "listings.db")
    yield create_app(store, WebSettings(data_dir=tmp, secret_key="structure-secret-0123456789abcdef"))
    store.close()


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI may keep an included router whole)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found.extend(api_routes(included.routes))
    return found


def undeclared_routes(app: FastAPI) -> list[str]:
    """Routes with neither a response_model nor an explicit response class (CSV, zip, PNG, HTML...)."""
    return [f"{sorted(r.methods)} {r.path}" for r in api_routes(app.routes)
            if r.response_model is None and isinstance(r.response_class, DefaultPlaceholder)]


def test_every_route_declares_its_response(app):
    paths = {r.path for r in api_routes(app.routes)}
    assert {"/api/queue", "/queue", "/api/schedules", "/api/exchange/{fmt}/search"} <= paths
    assert undeclared_routes(app) == []


def test_a_route_without_a_declared_response_is_caught():
    bare = FastAPI()
    router = APIRouter()

    @router.get("/api/bare")
    def bare_route():
        return {}

    @router.get("/api/typed", response_model=dict)
    def typed_route():
        return {}
    bare.include_router(router)
    assert undeclared_routes(bare) == ["['GET'] /api/bare"]
    assert [r.path for r in api_routes(bare.routes)] == ["/api/bare", "/api/typed"]


@pytest.mark.parametrize("path", ["/api/queue", "/api/search", "/api/exchange/{fmt}/search"])
def test_filtered_routes_show_their_filters(app, path):
    params = {p["name"]: p for p in app.openapi()["paths"][path]["get"]["parameters"]}
    assert set(Filters.model_fields) <= set(params)
    assert all(params[name]["in"] == "query" for name in Filters.model_fields)
    assert params["tenant"]["schema"]["type"] == "array" and params["risk_min"]["schema"]["anyOf"][0]["maximum"] == 100


# ------------------------------------------------------------------------------------------- import graph
def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package_dir: Path, root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in the file (function-level imports count)."""
    modules = {module_name(p, root): p for p in package_dir.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a -> b -> ... -> a), or None."""
    state: dict[str, int] = {}     # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [node])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [])):
            return cycle
    return None


def test_interdict_web_has_no_import_cycle():
    graph = import_graph(WEB, ROOT)
    assert "interdict.web.routes.api_review" in graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_check_sees_a_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from pkg import c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    assert find_cycle(import_graph(pkg, tmp_path)) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
