"""The query language's AST and field tables: what index.query_parser builds and what index/sqlite_search.py
and index/es_dsl.py translate, so a query means the same thing on SQLite and Elasticsearch."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Union

from index.models import ENTITY_GROUPS, SIGNAL_TYPES
from index.store import StoreError

TEXT_FIELDS = ("title", "description", "vendor")
# query-language name -> stored keyword field
KEYWORD_FIELDS = {
    "platform": "platform", "tenant": "tenant", "substance": "substances", "class": "classes",
    "signal": "signal_types", "status": "status", "type": "listing_type", "key": "key",
    "assignee": "assignee", "vendor_name": "vendor_name", "currency": "currency",
}
# Identifier fields hold lowercase ids (platform ids, our own status/class/signal/type names): the query
# value is lowercased and matched exactly. The others compare case-insensitively on both sides.
IDENTIFIER_FIELDS = ("platform", "status", "listing_type", "classes", "signal_types")
# Entity fields (index.models.ENTITY_GROUPS) match signal values, stored lowercased as "type:value"; a
# signal type is a query field of its own when some entity group spans it.
SIGNAL_VALUE_TYPES = tuple(t for t in SIGNAL_TYPES if any(t in types for types in ENTITY_GROUPS.values()))
NUMERIC_FIELDS = {"risk": int, "price": float, "version": int}
# Accepted bounds per numeric field: the backends' number types (ES integer, double; SQLite INTEGER, REAL),
# so a value either side of them never reaches a backend (OverflowError on SQLite, a 400 on ES).
NUMERIC_LIMITS = {"risk": (-2**31, 2**31 - 1), "price": (-10**15, 10**15), "version": (-2**31, 2**31 - 1)}
MAX_DEPTH = 64                  # nested parentheses and NOTs
MARK_WIDTH = 72                 # characters of the query shown above the caret
MAX_TERMS = 1000                # leaves of the query (words, phrases, field values, ranges)
DATE_FIELDS = {"last_seen": "last_seen", "seen": "last_seen", "first_seen": "first_seen"}
FLAG_FIELDS = ("flagged", "online")
ALL_FIELDS = sorted({*TEXT_FIELDS, *KEYWORD_FIELDS, *ENTITY_GROUPS, "entity", *SIGNAL_VALUE_TYPES,
                     *NUMERIC_FIELDS, *DATE_FIELDS, *FLAG_FIELDS})


class QuerySyntaxError(StoreError):
    """A query the parser cannot read; `position` is the 0-based offset of the problem."""

    def __init__(self, message: str, query: str, position: int):
        self.query, self.position, self.reason = query, position, message
        super().__init__(f"query syntax error at position {position + 1}: {message}")

    def marked(self, width: int = MARK_WIDTH) -> tuple[str, str]:
        """The query (at most `width` characters around the position) and a caret line under the position, so a
        person sees where it went wrong; control characters and line breaks show as one character each."""
        pos = min(self.position, len(self.query))
        start = max(0, min(pos - width // 2, len(self.query) - width))
        end = min(len(self.query), start + width)
        shown = "".join(_shown(c) for c in self.query[start:end])
        before = "".join(_shown(c) for c in self.query[start:pos])
        lead, tail = ("…" if start else ""), ("…" if end < len(self.query) else "")
        pad = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in lead + before)
        return lead + shown + tail, " " * pad + "^"


def _shown(c: str) -> str:
    """One printable character for each character of the query, so the caret stays under its position."""
    if c.isspace():
        return " "
    return c if c.isprintable() else "\ufffd"


# --- AST ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MatchAll:
    pass


@dataclass(frozen=True)
class MatchNone:
    pass


@dataclass(frozen=True)
class Text:
    """Tokens in any of `fields`; several tokens = a phrase (consecutive, within one field)."""
    fields: tuple[str, ...]
    tokens: tuple[str, ...]
    prefix: bool = False        # the (single) token is a prefix


@dataclass(frozen=True)
class Keyword:
    """A stored keyword field equals one of `values`; fold=True compares lowercased."""
    field: str
    values: tuple[str, ...]
    fold: bool = False


@dataclass(frozen=True)
class Range:
    """Numeric or date (epoch milliseconds) bounds; None = open."""
    field: str
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None


@dataclass(frozen=True)
class Flag:
    field: str                  # "flagged" or "online"
    value: bool


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


Node = Union[MatchAll, MatchNone, Text, Keyword, Range, Flag, And, Or, Not]


def and_(*nodes: Node) -> Node:
    """AND with simplification (MatchAll drops out, MatchNone wins, nested ANDs flatten)."""
    out: list[Node] = []
    for n in nodes:
        if isinstance(n, MatchAll):
            continue
        if isinstance(n, MatchNone):
            return MatchNone()
        out.extend(n.children if isinstance(n, And) else (n,))
    if not out:
        return MatchAll()
    return out[0] if len(out) == 1 else And(tuple(out))


def or_(*nodes: Node) -> Node:
    out: list[Node] = []
    for n in nodes:
        if isinstance(n, MatchNone):
            continue
        if isinstance(n, MatchAll):
            return MatchAll()
        out.extend(n.children if isinstance(n, Or) else (n,))
    if not out:
        return MatchNone()
    return out[0] if len(out) == 1 else Or(tuple(out))


def not_(node: Node) -> Node:
    if isinstance(node, MatchAll):
        return MatchNone()
    if isinstance(node, MatchNone):
        return MatchAll()
    if isinstance(node, Not):
        return node.child
    return Not(node)
