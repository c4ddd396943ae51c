"""The READMEs point at things that exist: every relative link names a file in the repository, and every app
path they name (`/queue`, `/entities/wallet/<address>`, `GET /api/runs/{id}`, "/docs") is a route of the real
app; the pages among them answer 200 to an admin.

Paths are taken from inline code (alone or after an HTTP verb) and after a space or "(" in prose (fenced blocks
included: the architecture diagram names /docs); the filesystem paths in FILESYSTEM are not app paths.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Match

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "README.md", *sorted(p for p in ROOT.glob("*/**/README.md") if ".venv" not in p.parts),
           ROOT / "nlp" / "data" / "SOURCES.md"]
FILESYSTEM = ("/opt/", "/usr/", "/path/")            # install locations and the `/path/data` placeholder
PLACEHOLDERS = {"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "site": "shop", "id": "no-such-run"}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
VERB = re.compile(r"^(GET|PUT|POST|DELETE|PATCH) (/\S*)$")
PROSE_PATH = re.compile(r"(?<=[\s(])(/[a-z][\w/{}<>|.-]*)")


def _prose_and_code(text: str):
    """(prose, code spans) of a markdown text; a fenced block's text counts as prose."""
    text = re.sub(r"^```.*$", "", text, flags=re.M)       # fences go, their text (the diagram) stays
    parts = text.split("`")
    return parts[0::2], parts[1::2]


def links(readme: Path) -> list[str]:
    return [t for t in LINK.findall(readme.read_text(encoding="utf-8"))
            if not re.match(r"^[a-z]+:|^#", t)]


def app_paths(readme: Path) -> set[tuple[str, str]]:
    """(method, path) named by the README, placeholders filled, `a|b|c` alternatives expanded."""
    prose, code = _prose_and_code(readme.read_text(encoding="utf-8"))
    named = set()
    for span in code:
        m = VERB.match(span)
        if m:
            named.add((m.group(1), m.group(2)))
        elif span.startswith("/") and " " not in span:
            named.add(("GET", span))
    for chunk in prose:
        named |= {("GET", p.rstrip(".,;:)")) for p in PROSE_PATH.findall(chunk)}
    out = set()
    for method, path in named:
        if path.startswith(FILESYSTEM):
            continue
        path = re.sub(r"[<{](\w+)[>}]", lambda m: PLACEHOLDERS[m.group(1)], path)
        head, _, last = path.rpartition("/")
        out |= {(method, f"{head}/{alt}") for alt in last.split("|")}
    return out


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_name_existing_files(readme):
    missing = [t for t in links(readme) if not (readme.parent / t.split("#")[0]).exists()]
    assert not missing, f"{readme.relative_to(ROOT)}: broken links {missing}"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from index.sqlite_store import SqliteStore
    from interdict.web.app import create_app
    from interdict.web.config import WebSettings
    from interdict.web.demo import create_demo_users
    tmp = tmp_path_factory.mktemp("readme-app")
    store = SqliteStore(tmp / "interdict.db")
    store.init()
    app = create_app(store, WebSettings(data_dir=tmp, secret_key="readme-links-secret-0123456789"))
    create_demo_users(store, app.state.db)          # an admin (the store is empty: no reviewers)
    yield app
    store.close()


def test_the_readmes_name_app_paths():
    named = set().union(*(app_paths(r) for r in READMES))
    assert {("GET", "/queue"), ("GET", "/audit"), ("GET", "/docs"),
            ("GET", f"/entities/wallet/{PLACEHOLDERS['address']}")} <= named


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_app_paths_in_the_readme_are_routes_and_pages_answer(readme, app):
    _, token = app.state.db.create_token("admin", "readme")
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    for method, path in sorted(app_paths(readme)):
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
                 "headers": []}
        assert any(r.matches(scope)[0] == Match.FULL for r in app.routes), \
            f"{readme.relative_to(ROOT)} names {method} {path}: no such route"
        if method == "GET" and not path.startswith("/api/"):
            r = client.get(path)
            assert r.status_code == 200, f"{readme.relative_to(ROOT)} names {path}: {r.status_code}"
