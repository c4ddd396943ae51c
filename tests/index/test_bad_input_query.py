"""Hostile search queries (issue 10): huge numbers, absurd dates, deep nesting and very many terms give one
clear line, the same on SQLite and Elasticsearch, through every entry point (store, `interdict search`,
/api/search, /search, /queue), or bounded work with the same hits on both. Never an OverflowError, a
RecursionError, SQLite's "Expression tree is too large" or a 5xx.
"""
from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from typer.testing import CliRunner

from index.query import MAX_DEPTH, MAX_TERMS, QuerySyntaxError
from index.store import SearchQuery
from interdict.cli import app as cli
from tests.backends import store_spec
from tests.web_helpers import login, make_app

WORDS = [f"w{i}" for i in range(MAX_TERMS + 1)]
# query -> the reason in its one-line error (identical on both backends)
HOSTILE = {
    "price:>1e400": "price must be between -1,000,000,000,000,000 and 1,000,000,000,000,000, got '1e400'",
    "risk:99999999999999999999999": "risk must be between -2,147,483,648 and 2,147,483,647",
    "risk:>=-99999999999999999999": "risk must be between",
    "price:[nan TO inf]": "price needs a number, got 'nan'",
    "version:1_000": "version needs a number, got '1_000'",
    "last_seen:>=9999-99-99": "invalid date '9999-99-99'",
    "last_seen:>=now-99999999d": "date 'now-99999999d' is out of range (years 0001 to 9999)",
    "first_seen:<now+" + "9" * 5000 + "d": "is out of range (years 0001 to 9999)",
    "seen:10000-01-01T00:00": "invalid date",
    "(" * 300 + "fentanyl" + ")" * 300: f"query nests deeper than {MAX_DEPTH} levels of parentheses or NOT",
    "NOT " * 300 + "fentanyl": f"query nests deeper than {MAX_DEPTH} levels",
    "platform:" + "(" * 300 + "agora" + ")" * 300: f"query nests deeper than {MAX_DEPTH} levels",
    " ".join(WORDS): f"query has more than {MAX_TERMS} terms",
    "platform:(" + " OR ".join(WORDS) + ")": f"query has more than {MAX_TERMS} terms",
}
# queries at the limits: bounded work, the same hits on both backends
HEAVY = [
    " OR ".join(["mdma", *WORDS[:599]]),                              # 600 terms
    " ".join(WORDS[:600]),
    "mdma " + " ".join(f"-{w}" for w in WORDS[:599]),
    " OR ".join(["cocaine", *WORDS[:MAX_TERMS - 1]]),                 # exactly MAX_TERMS
    "(" * (MAX_DEPTH - 1) + "mdma OR cocaine" + ")" * (MAX_DEPTH - 1),
    "NOT " * (MAX_DEPTH - 1) + "mdma",
    "(" * 40 + " OR ".join(["heroin", *WORDS[:500]]) + ")" * 40,
    "platform:(" + " OR ".join(["agora", *WORDS[:599]]) + ")",
    "last_seen:[0001-01-01 TO 9999-12-31]", "last_seen:<=9999-12", "first_seen:>=now-700000d",
    "last_seen:<now+100000w", "price:<=1000000000000000", "risk:>=-2147483648",
]


@pytest.mark.parametrize("text", list(HOSTILE), ids=[t[:40] for t in HOSTILE])
def test_hostile_query_is_one_line_the_same_on_both_backends(both, text):
    messages = []
    for store in both:
        for sort in ("risk", "relevance"):
            with pytest.raises(QuerySyntaxError) as err:
                store.search(SearchQuery(text=text, sort=sort))
            messages.append(str(err.value))
        with pytest.raises(QuerySyntaxError):
            next(store.iter_listings(SearchQuery(text=text)))
    assert len(set(messages)) == 1, messages
    assert HOSTILE[text] in messages[0] and "\n" not in messages[0] and len(messages[0]) < 300


@pytest.mark.parametrize("text", HEAVY, ids=[t[:40] for t in HEAVY])
def test_queries_at_the_limits_run_and_agree(both, text):
    results = []
    for store in both:
        keys = {item.key for item in store.iter_listings(SearchQuery(text=text))}
        page = store.search(SearchQuery(text=text, sort="relevance", size=5))
        assert page.total == len(keys)
        results.append(keys)
    assert results[0] == results[1]


def test_whole_date_range_matches_everything(both):
    for store in both:
        total = store.search(SearchQuery(size=0)).total
        assert total > 0
        assert store.search(SearchQuery(text="last_seen:[0001-01-01 TO 9999-12-31]", size=0)).total == total


# ---------------------------------------------------------------------------------------------- CLI

def _cli_stores(both):
    return [("sqlite", store_spec(both[0]), {}),
            (both[1].backend, store_spec(both[1]), {"INTERDICT_ES_INDEX_PREFIX": both[1].prefix})]


@pytest.mark.parametrize("text", ["price:>1e400", "last_seen:>=9999-99-99", "last_seen:>=now-99999999d",
                                  "(" * 300 + "a" + ")" * 300, " ".join(WORDS)], ids=lambda t: t[:30])
def test_cli_search_prints_one_line_error(both, text):
    errors = []
    for _, spec, env in _cli_stores(both):
        result = CliRunner().invoke(cli, ["search", text, "--store", spec], env=env)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        lines = result.stderr.rstrip().splitlines()
        assert len(lines) == 3 and lines[0].startswith("error: query syntax error at position"), result.stderr
        assert all(len(line) < 100 for line in lines[1:]) and lines[2].strip() == "^"   # the query, marked
        errors.append(lines[0])
    assert errors[0] == errors[1]


@pytest.mark.parametrize("text, position", [("fentanyl (a OR b", 9), ('x "china white', 2), ("a b)", 3),
                                            ("risk:[1 TO]", 5), ("title:x risk:>=1e400", 15),
                                            ("日本 foo:bar", 3), ("(" * 300 + "a" + ")" * 300, MAX_DEPTH)],
                         ids=lambda t: str(t)[:30])
def test_cli_search_marks_the_position_under_the_query(both, text, position):
    for _, spec, env in _cli_stores(both):
        result = CliRunner().invoke(cli, ["search", text, "--store", spec], env=env)
        assert result.exit_code == 2, result.output
        error, shown, caret = result.stderr.rstrip("\n").splitlines()
        assert error.startswith(f"error: query syntax error at position {position + 1}:")
        column = caret.index("^")
        assert caret == " " * column + "^" and shown.startswith("  ") and len(shown) < 100
        wide = sum(1 for c in shown[:column] if c in "日本")    # double-width characters take two columns
        assert shown[column - wide] == text[position]


def test_cli_until_the_last_day_there_is(both):
    for _, spec, env in _cli_stores(both):
        result = CliRunner().invoke(cli, ["search", "--until", "9999-12-31", "--since", "0001-01-01",
                                          "--json", "--store", spec], env=env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["total"] == both[0].search(SearchQuery(size=0)).total


# ---------------------------------------------------------------------------------------------- web

@pytest.fixture(scope="module")
def clients(both, tmp_path_factory):
    out = []
    for store in both:
        client = TestClient(make_app(store, tmp_path_factory.mktemp("web")))
        login(client, "admin")
        out.append(client)
    yield out
    for c in out:
        c.close()


@pytest.mark.parametrize("text", ["price:>1e400", "risk:99999999999999999999999", "last_seen:>=9999-99-99",
                                  "last_seen:>=now-99999999d", "(" * 300 + "a" + ")" * 300, "NOT " * 300 + "a"],
                         ids=lambda t: t[:30])
def test_api_search_answers_400_with_the_same_detail(clients, text):
    details = []
    for client in clients:
        for fmt in ("page", "json", "csv"):
            r = client.get("/api/search", params={"q": text, "format": fmt}, headers={"Accept": "application/json"})
            assert r.status_code == 400, (fmt, r.status_code, r.text[:300])
            details.append(r.json()["detail"])
    assert len(set(details)) == 1 and details[0].startswith("query syntax error at position")


def test_api_search_with_600_terms_is_bounded_and_agrees(clients):
    """The web form takes 2,000 characters: 600 one-letter terms fit, and run the same on both backends."""
    text = "mdma " + " ".join(f"-{c}" for c in ("abcdefghijklmnopqrstuvwxyz" * 23)[:599])
    totals = []
    for client in clients:
        r = client.get("/api/search", params={"q": text})
        assert r.status_code == 200, r.text[:300]
        totals.append(r.json()["total"])
    assert totals[0] == totals[1]
    too_long = clients[0].get("/api/search", params={"q": "a " * 1001}, headers={"Accept": "application/json"})
    assert too_long.status_code == 422 and "q" in too_long.json()["detail"]


PAGE_ERRORS = [('fentanyl AND price:>1e400 "<b>x</b>"', "price must be between", "1e400"),   # a bound
               ('<b>x</b> AND (fentanyl OR "china white"', "unclosed '('", "(")]               # the grammar


@pytest.mark.parametrize("text, reason, at", PAGE_ERRORS, ids=["bound", "grammar"])
@pytest.mark.parametrize("page", ["/search", "/queue"])
def test_page_shows_the_error_and_the_marked_query_next_to_the_form_and_keeps_the_input(clients, page, text,
                                                                                        reason, at):
    for client in clients:
        r = client.get(page, params={"q": text})
        assert r.status_code == 400
        form_end = r.text.index("</form>", r.text.index('name="q"')) + len("</form>")
        error = re.search(r'<p class="error" role="alert" id="query-error">([^<]*)</p>', r.text)
        assert error and 0 <= error.start() - form_end < 5, "the error follows the query form"
        message = html.unescape(error.group(1))
        assert message.startswith(f"query syntax error at position {text.index(at) + 1}:") and reason in message
        mark = re.search(r'<pre class="query-mark" id="query-mark">([^<]*)</pre>', r.text)
        assert mark and 0 <= mark.start() - error.end() < 5, "the marked query follows the error"
        assert html.unescape(mark.group(1)).split("\n") == [text, " " * text.index(at) + "^"]
        assert f'name="q" value="{escape(text)}"' in r.text
        assert "<b>x</b>" not in r.text
        ok = client.get(page, params={"q": "mdma"})
        assert ok.status_code == 200 and 'id="query-error"' not in ok.text and 'id="query-mark"' not in ok.text
