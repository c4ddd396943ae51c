"""The investigator query language: text -> a small AST that each backend translates, so a query means the
same thing on SQLite and Elasticsearch.

    fentanyl "china white"                 words and phrases over title, description and vendor (implicit AND)
    title:carfentanil  vendor:"dr white"   one text field
    fent*                                  prefix of a word
    platform:agora  class:opioid  signal:telegram  status:new  type:substance_offer   ids (lowercased)
    substance:fentanyl  tenant:acme  vendor_name:"Dr White"  currency:usd   values (case-insensitive)
    key:agora:123                          a listing key (exact)
    wallet:bc1q...  handle:@drx  phone:+4915...  pgp:ABCD...  onion:xyz.onion  email:a@b.c  entity:<any>
    btc:... telegram:...                   one signal type's values
    risk:[50 TO 100]  risk:>=70  price:{10 TO *}  last_seen:>=2024-01-01  first_seen:[2024-01 TO now-7d]
    flagged:true  online:false
    a AND b, a OR b, NOT a, -a, a && b, a || b, !a, ( ... ), platform:(agora OR silkroad)

Precedence: NOT > AND (also implicit) > OR. Words are analyzed like Elasticsearch's standard analyzer
(index.text); a word that splits into several tokens ("3-MMC") is matched as a phrase. Dates are UTC;
a bare date as an upper bound includes that whole day. Errors raise QuerySyntaxError with the position.

The grammar is luqum's (Lucene's syntax, index.query_parser), the values' meaning index.query_values, the AST
index.query_ast. Hostile input is refused before any backend sees it, so both fail alike with one line:
numbers must be plain, finite and within the field's range, dates within years 1-9999, nesting (parentheses,
NOT) at most MAX_DEPTH levels and at most MAX_TERMS terms (bounded work on both backends).
"""
from __future__ import annotations

from datetime import datetime, timezone

from index import query_parser
from index.query_ast import (ALL_FIELDS, DATE_FIELDS, ENTITY_GROUPS, FLAG_FIELDS, IDENTIFIER_FIELDS,  # noqa: F401
                             KEYWORD_FIELDS, MAX_DEPTH, MAX_TERMS, NUMERIC_FIELDS, NUMERIC_LIMITS,
                             SIGNAL_VALUE_TYPES, TEXT_FIELDS, And, Flag, Keyword, MatchAll, MatchNone, Node, Not,
                             Or, QuerySyntaxError, Range, Text, and_, not_, or_)
from index.query_values import entity_value, ms as _ms  # noqa: F401
from index.store import SearchQuery
from index.text import lower  # noqa: F401 - index.sqlite_store folds values as queries do


def parse(text: str, *, now: datetime | None = None) -> Node:
    """Parse query-language text into an AST (raises QuerySyntaxError)."""
    return query_parser.parse(text, now=now or datetime.now(timezone.utc))


def compile_search(q: SearchQuery, *, now: datetime | None = None) -> Node:
    """The whole search — parsed text AND every structured filter — as one AST."""
    parts: list[Node] = [parse(q.text, now=now)]
    if q.tenants is not None:
        parts.append(Keyword("tenant", tuple(q.tenants)) if q.tenants else MatchNone())
    for values, field in ((q.platforms, "platform"), (q.substances, "substances"), (q.classes, "classes"),
                          (q.signal_types, "signal_types"), (q.statuses, "status")):
        if values:
            parts.append(Keyword(field, tuple(values)))
    if q.flagged is not None:
        parts.append(Flag("flagged", q.flagged))
    if q.online is not None:
        parts.append(Flag("online", q.online))
    if q.risk_min is not None or q.risk_max is not None:
        parts.append(Range("risk", gte=q.risk_min, lte=q.risk_max))
    if q.date_from is not None or q.date_to is not None:
        parts.append(Range("last_seen", gte=_ms(_utc(q.date_from)) if q.date_from else None,
                           lte=_ms(_utc(q.date_to)) if q.date_to else None))
    return and_(*parts)


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def positive_text(node: Node, field: str | None = None) -> tuple[set[str], list[tuple[str, ...]], list[str]]:
    """Terms, phrases and prefixes a hit may be highlighted for (not under a NOT; only `field`'s if given)."""
    terms: set[str] = set()
    phrases: list[tuple[str, ...]] = []
    prefixes: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Text):
            if field is not None and field not in n.fields:
                return
            if n.prefix:
                prefixes.append(n.tokens[0])
            elif len(n.tokens) == 1:
                terms.add(n.tokens[0])
            else:
                phrases.append(n.tokens)
        elif isinstance(n, (And, Or)):
            for c in n.children:
                walk(c)
    walk(node)
    return terms, phrases, prefixes


def has_text(node: Node) -> bool:
    return bool(any(positive_text(node)))


def to_text(node: Node) -> str:
    """A query string that parses back to `node` (saved searches, tests). Ranges print as [..] / {..}."""
    if isinstance(node, MatchAll):
        return "*"
    if isinstance(node, MatchNone):
        return "NOT *"
    if isinstance(node, Text):
        body = " ".join(node.tokens)
        body = (body + "*") if node.prefix else '"' + body.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if node.fields == TEXT_FIELDS:
            return body
        return f"{node.fields[0]}:{body}"
    if isinstance(node, And):
        return "(" + " AND ".join(to_text(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_text(c) for c in node.children) + ")"
    if isinstance(node, Not):
        return "NOT " + to_text(node.child)
    if isinstance(node, Flag):
        return f"{node.field}:{str(node.value).lower()}"
    if isinstance(node, Range):
        name = {"last_seen": "last_seen", "first_seen": "first_seen"}.get(node.field, node.field)
        is_date = node.field in ("last_seen", "first_seen")

        def fmt(v):
            if v is None:
                return "*"
            if is_date:
                return datetime.fromtimestamp(v / 1000, timezone.utc).isoformat().replace("+00:00", "Z")
            return repr(v) if isinstance(v, float) else str(v)
        lo = node.gte if node.gte is not None else node.gt
        hi = node.lte if node.lte is not None else node.lt
        return (f"{name}:{'{' if node.gt is not None else '['}{fmt(lo)} TO {fmt(hi)}"
                f"{'}' if node.lt is not None else ']'}")
    if isinstance(node, Keyword):
        names = {v: k for k, v in KEYWORD_FIELDS.items()}
        if node.field == "key":
            return "(" + " OR ".join(f"key:{_quote(v)}" for v in node.values) + ")"
        if node.field in names and (node.fold or node.field in IDENTIFIER_FIELDS):
            return "(" + " OR ".join(f'{names[node.field]}:{_quote(v)}' for v in node.values) + ")"
        raise ValueError(f"no query-language form for exact filter {node.field}")
    raise TypeError(node)


def _quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
