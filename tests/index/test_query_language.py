"""The investigator query language: what a query means, and clear errors with the position when it has none."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from index import query as Q
from index.query import QuerySyntaxError, parse
from index.store import StoreError
from index.text import lower, tokens

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=timezone.utc)
ALL = Q.TEXT_FIELDS


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp() * 1000)


@pytest.mark.parametrize("text, expected", [
    ("", Q.MatchAll()),
    ("*", Q.MatchAll()),
    ("Fentanyl", Q.Text(ALL, ("fentanyl",))),
    ('"China White"', Q.Text(ALL, ("china", "white"))),
    ("3-MMC", Q.Text(ALL, ("3", "mmc"))),                        # split word = phrase, as in ES
    ("fent*", Q.Text(ALL, ("fent",), prefix=True)),
    ("title:carfentanil", Q.Text(("title",), ("carfentanil",))),
    ('vendor:"Dr White"', Q.Text(("vendor",), ("dr", "white"))),
    ("a b", Q.And((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",))))),
    ("a AND b", Q.And((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",))))),
    ("a && b", Q.And((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",))))),
    ("a OR b c", Q.Or((Q.Text(ALL, ("a",)), Q.And((Q.Text(ALL, ("b",)), Q.Text(ALL, ("c",))))))),
    ("NOT a", Q.Not(Q.Text(ALL, ("a",)))),
    ("-a", Q.Not(Q.Text(ALL, ("a",)))),
    ("!a", Q.Not(Q.Text(ALL, ("a",)))),
    ("NOT NOT a", Q.Text(ALL, ("a",))),
    ("(a OR b) -c", Q.And((Q.Or((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",)))), Q.Not(Q.Text(ALL, ("c",)))))),
    ("platform:Agora", Q.Keyword("platform", ("agora",))),
    ("platform:(agora OR evolution)", Q.Or((Q.Keyword("platform", ("agora",)),
                                            Q.Keyword("platform", ("evolution",))))),
    ("substance:Fentanyl class:Opioid", Q.And((Q.Keyword("substances", ("fentanyl",), True),
                                               Q.Keyword("classes", ("opioid",))))),
    ("signal:telegram status:NEW", Q.And((Q.Keyword("signal_types", ("telegram",)),
                                          Q.Keyword("status", ("new",))))),
    ("tenant:ACME vendor_name:\"Dr White\"", Q.And((Q.Keyword("tenant", ("acme",), True),
                                                   Q.Keyword("vendor_name", ("dr white",), True)))),
    ("key:agora:AbC", Q.Keyword("key", ("agora:AbC",))),
    ("wallet:BC1QABC", Q.Keyword("entity", tuple(f"{t}:bc1qabc" for t in Q.ENTITY_GROUPS["wallet"]))),
    ('phone:"+49 151-23"', Q.Keyword("entity", tuple(f"{t}:+4915123" for t in Q.ENTITY_GROUPS["phone"]))),
    ("telegram:@DrX", Q.Keyword("entity", ("telegram:@drx",))),
    ("entity:@DrX", Q.Keyword("entity_value", ("@drx",))),
    ("risk:[50 TO 100]", Q.Range("risk", gte=50, lte=100)),
    ("risk:{50 TO 100}", Q.Range("risk", gt=50, lt=100)),
    ("risk:[50 TO *]", Q.Range("risk", gte=50)),
    ("risk:>=70", Q.Range("risk", gte=70)),
    ("risk:<30", Q.Range("risk", lt=30)),
    ("risk:70", Q.Range("risk", gte=70, lte=70)),
    ("price:>9.5", Q.Range("price", gt=9.5)),
    ("last_seen:>=2024-01-01", Q.Range("last_seen", gte=ms(2024, 1, 1))),
    ("seen:[2024-01-01 TO 2024-01-31]", Q.Range("last_seen", gte=ms(2024, 1, 1), lt=ms(2024, 2, 1))),
    ("last_seen:<=2024-01-31", Q.Range("last_seen", lt=ms(2024, 2, 1))),     # a day bound covers the day
    ("last_seen:>2024-01-31", Q.Range("last_seen", gte=ms(2024, 2, 1))),
    ("first_seen:2024-02", Q.Range("first_seen", gte=ms(2024, 2, 1), lt=ms(2024, 3, 1))),
    ("first_seen:>now-7d", Q.Range("first_seen", gt=ms(2024, 6, 8, 12))),
    ("last_seen:>=2024-01-01T10:30:00+02:00", Q.Range("last_seen", gte=ms(2024, 1, 1, 8, 30))),
    ("flagged:true online:no", Q.And((Q.Flag("flagged", True), Q.Flag("online", False)))),
    ("!!!", Q.MatchAll()),                                          # no searchable token: ignored
    ("NOT *", Q.MatchNone()),
    # Lucene syntax this language never had stays plain text, as it always was
    ("a - b", Q.And((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",))))),
    ("a~2 b^3", Q.And((Q.Text(ALL, ("a", "2")), Q.Text(ALL, ("b", "3"))))),
    ("/re/", Q.Text(ALL, ("re",))),
    ("a TO b", Q.And((Q.Text(ALL, ("a",)), Q.Text(ALL, ("to",)), Q.Text(ALL, ("b",))))),
    ("&& a", Q.Text(ALL, ("a",))),                                  # && joins terms; where a term starts it is text
    ("a &&b", Q.And((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",))))),
    ("!(a OR b)", Q.Not(Q.Or((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",)))))),
    ("-NOT x", Q.And((Q.Not(Q.Text(ALL, ("not",))), Q.Text(ALL, ("x",))))),
    ("platform:NOT", Q.Keyword("platform", ("not",))),
    ("key:a:b:C", Q.Keyword("key", ("a:b:C",))),
    ("risk:>=-5", Q.Range("risk", gte=-5)),
    ('a"b"', Q.And((Q.Text(ALL, ("a",)), Q.Text(ALL, ("b",))))),
])
def test_parse(text, expected):
    assert parse(text, now=NOW) == expected


@pytest.mark.parametrize("text, position, message", [
    ("foo:bar", 1, "unknown field 'foo'"),
    ("http://example.org", 1, "unknown field 'http'"),
    ("fentanyl (a OR b", 10, "unclosed '('"),
    ("a b)", 4, "unbalanced ')'"),
    ('x "china white', 3, "unclosed quote"),
    ("risk:[1 TO]", 6, "a range is [LOW TO HIGH]"),
    ("risk:[1 TO 5", 6, "unclosed range"),
    ("risk:high", 1, "risk needs a number"),
    ("AND a", 1, "AND needs a term"),
    ("a AND", 6, "expected a term"),
    ("title: x", 1, "missing value after 'title:'"),
    ("platform:[a TO b]", 10, "does not take a range"),
    ("last_seen:2024-13-01", 1, "invalid date"),
    ("flagged:maybe", 1, "flagged is true or false"),
    ("fe-n*", 1, "prefix search needs one plain word"),
])
def test_syntax_errors_name_the_position(text, position, message):
    with pytest.raises(QuerySyntaxError) as err:
        parse(text, now=NOW)
    assert err.value.position + 1 == position
    assert message in str(err.value) and f"position {position}" in str(err.value)
    assert isinstance(err.value, StoreError)         # the CLI and API report it as a one-line error


def test_positive_text_ignores_negated_clauses():
    terms, phrases, prefixes = Q.positive_text(parse('fentanyl "china white" fent* -cannabis title:x'))
    assert terms == {"fentanyl", "x"} and phrases == [("china", "white")] and prefixes == ["fent"]
    assert Q.positive_text(parse("title:x description:y"), "title")[0] == {"x"}


# --- round trip: any AST prints to a query that parses back to it ------------------------------------

_word = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
_toks = _word.map(lambda w: tuple(tokens(w))).filter(lambda t: 0 < len(t) <= 3)


def _text_node(fields, toks):
    return Q.Text(fields, toks)


_leaf = st.one_of(
    st.builds(_text_node, st.sampled_from([ALL, ("title",), ("description",), ("vendor",)]), _toks),
    st.builds(lambda f, v: Q.Keyword(Q.KEYWORD_FIELDS[f], (lower(v),),
                                     fold=Q.KEYWORD_FIELDS[f] not in Q.IDENTIFIER_FIELDS),
              st.sampled_from(["platform", "tenant", "substance", "class", "signal", "status"]),
              _word.filter(lambda v: v.strip() == v and "\\" not in v)),
    st.builds(lambda lo, span: Q.Range("risk", gte=lo, lte=lo + span), st.integers(0, 100), st.integers(0, 50)),
    st.builds(Q.Flag, st.sampled_from(["flagged", "online"]), st.booleans()),
)
_ast = st.recursive(_leaf, lambda kids: st.one_of(
    st.lists(kids, min_size=2, max_size=3).map(lambda xs: Q.and_(*xs)),
    st.lists(kids, min_size=2, max_size=3).map(lambda xs: Q.or_(*xs)),
    kids.map(Q.not_)), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_ast)
def test_round_trip(node):
    assert parse(Q.to_text(node), now=NOW) == node


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_input_parses_or_fails_cleanly(text):
    try:
        parse(text, now=NOW)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(text)
