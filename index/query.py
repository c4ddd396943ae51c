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

Precedence: NOT > AND (also implicit) > OR. Words are analysed like Elasticsearch's standard analyzer
(index.text); a word that splits into several tokens ("3-MMC") is matched as a phrase. Dates are UTC;
a bare date as an upper bound includes that whole day. Errors raise QuerySyntaxError with the position.

Hostile input is refused here, before any backend sees it, so both fail alike with one line: numbers must
be plain, finite and within the field's range, dates within years 1-9999, nesting (parentheses, NOT)
at most MAX_DEPTH levels and at most MAX_TERMS terms (bounded work on both backends).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Union

from index.documents import DAY_MS
from index.store import SearchQuery, StoreError
from index.text import lower, tokens

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
# Entity fields match signal values (stored lowercased as "type:value"); each maps to signal types.
ENTITY_GROUPS: dict[str, tuple[str, ...]] = {
    "wallet": ("btc", "eth", "xmr", "ltc", "trx"),
    "handle": ("telegram", "wickr", "signal_messenger", "threema", "session", "wechat", "email"),
    "phone": ("phone", "whatsapp", "signal_messenger"),
    "pgp": ("pgp_key", "pgp_fingerprint"),
    "onion": ("onion",),
    "email": ("email",),
}
SIGNAL_VALUE_TYPES = (
    "telegram", "whatsapp", "phone", "wickr", "signal_messenger", "threema", "session", "wechat",
    "email", "btc", "eth", "xmr", "ltc", "trx", "pgp_key", "pgp_fingerprint", "onion",
)
NUMERIC_FIELDS = {"risk": int, "price": float, "version": int}
# Accepted bounds per numeric field: the backends' number types (ES integer, double; SQLite INTEGER, REAL),
# so a value either side of them never reaches a backend (OverflowError on SQLite, a 400 on ES).
NUMERIC_LIMITS = {"risk": (-2**31, 2**31 - 1), "price": (-10**15, 10**15), "version": (-2**31, 2**31 - 1)}
MAX_DEPTH = 64                  # nested parentheses and NOTs
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


# --- Parser ------------------------------------------------------------------------------------------

_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")
_WORD_END = re.compile(r"[\s()\"]")
_VALUE_END = re.compile(r"[\s()]")
_REL_DATE = re.compile(r"now(?:([+-])(\d+)([smhdw]))?$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MIN_MS = -62_135_596_800_000    # 0001-01-01T00:00:00Z
MAX_MS = 253_402_300_800_000    # 10000-01-01T00:00:00Z, the end of 9999-12-31


class _Parser:
    def __init__(self, text: str, now: datetime):
        self.s, self.i, self.now = text, 0, now
        self.depth = self.terms = 0

    def nest(self, pos: int) -> None:
        """Enter one nesting level (a group or a NOT); deep nesting is refused, never a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"query nests deeper than {MAX_DEPTH} levels of parentheses or NOT", pos)

    def leaf(self, pos: int) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(f"query has more than {MAX_TERMS} terms", pos)

    def error(self, message: str, pos: int | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.s, self.i if pos is None else pos)

    # lexical helpers
    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def at_end(self) -> bool:
        self.ws()
        return self.i >= len(self.s)

    def peek_op(self, *ops: str) -> str | None:
        """An operator word (AND/OR/NOT) or symbol at the cursor, as a whole word."""
        self.ws()
        for op in ops:
            if self.s.startswith(op, self.i):
                end = self.i + len(op)
                if op.isalpha() and end < len(self.s) and not (self.s[end].isspace() or self.s[end] in "()"):
                    continue
                if op == "!" and (end >= len(self.s) or not (self.s[end].isalnum() or self.s[end] in "(\"")):
                    continue            # "!!!" is a (token-less) word, not three NOTs
                return op
        return None

    def take(self, op: str) -> None:
        self.ws()
        self.i += len(op)

    # grammar
    def parse(self) -> Node:
        if self.at_end():
            return MatchAll()
        node = self.or_expr(None)
        if not self.at_end():
            if self.s[self.i] == ")":
                raise self.error("unbalanced ')'")
            raise self.error(f"unexpected {self.s[self.i]!r}")
        return node

    def or_expr(self, field: str | None) -> Node:
        items = [self.and_expr(field)]
        while (op := self.peek_op("OR", "||")):
            self.take(op)
            items.append(self.and_expr(field))
        return or_(*items)

    def and_expr(self, field: str | None) -> Node:
        items = [self.unary(field)]
        while not self.at_end() and self.s[self.i] != ")" and not self.peek_op("OR", "||"):
            if (op := self.peek_op("AND", "&&")):
                self.take(op)
            items.append(self.unary(field))
        return and_(*items)

    def unary(self, field: str | None) -> Node:
        if self.at_end():
            raise self.error("expected a term")
        if (op := self.peek_op("NOT", "!")):
            self.nest(self.i)
            self.take(op)
            node = not_(self.unary(field))
            self.depth -= 1
            return node
        c = self.s[self.i]
        if c in "-+" and self.i + 1 < len(self.s) and not self.s[self.i + 1].isspace() \
                and self.s[self.i + 1] not in ")-+":
            self.i += 1
            inner = self.primary(field)
            return not_(inner) if c == "-" else inner
        return self.primary(field)

    def group(self, field: str | None) -> Node:
        """`( ... )` at the cursor, as a whole or for one field."""
        open_at = self.i
        self.nest(open_at)
        self.i += 1
        if self.at_end():
            raise self.error("unclosed '('", open_at)
        node = self.or_expr(field)
        if self.at_end() or self.s[self.i] != ")":
            raise self.error("unclosed '('", open_at)
        self.i += 1
        self.depth -= 1
        return node

    def primary(self, field: str | None) -> Node:
        self.ws()
        start = self.i
        c = self.s[self.i]
        if c == "(":
            return self.group(field)
        if c == ")":
            raise self.error("unexpected ')'")
        if c == '"':
            self.leaf(start)
            return self.field_value(field, self.phrase(), start, quoted=True)
        if field is None and (m := _FIELD.match(self.s, self.i)):
            name = m.group(1).lower()
            if name not in ALL_FIELDS:
                raise self.error(f"unknown field {m.group(1)!r} (known: {', '.join(ALL_FIELDS)}); "
                                 f"put the text in quotes to search it literally", start)
            self.i = m.end()
            return self.value_of(name, start)
        word = self.word(_WORD_END)
        if field is None and word in ("AND", "OR"):
            raise self.error(f"{word} needs a term on both sides", start)
        self.leaf(start)
        return self.field_value(field, word, start, quoted=False)

    def word(self, end_re: re.Pattern) -> str:
        m = end_re.search(self.s, self.i)
        end = m.start() if m else len(self.s)
        w = self.s[self.i:end]
        if not w:
            raise self.error("expected a term")
        self.i = end
        return w

    def phrase(self) -> str:
        start = self.i
        self.i += 1
        out = []
        while self.i < len(self.s) and self.s[self.i] != '"':
            if self.s[self.i] == "\\" and self.i + 1 < len(self.s):
                self.i += 1
            out.append(self.s[self.i])
            self.i += 1
        if self.i >= len(self.s):
            raise self.error("unclosed quote", start)
        self.i += 1
        return "".join(out)

    def value_of(self, name: str, start: int) -> Node:
        """What follows `name:` — a group, a phrase, a range, a comparison or a bare value."""
        if self.i >= len(self.s) or self.s[self.i].isspace():
            raise self.error(f"missing value after '{name}:'", start)
        c = self.s[self.i]
        if c == "(":
            return self.group(name)
        self.leaf(start)
        if c in "[{":
            return self.range_(name)
        for op in (">=", "<=", ">", "<"):
            if self.s.startswith(op, self.i):
                self.i += len(op)
                vpos = self.i
                if self.i >= len(self.s) or self.s[self.i].isspace():
                    raise self.error(f"missing value after '{name}:{op}'", vpos)
                raw = self.word(_VALUE_END)
                return self.comparison(name, op, raw, vpos)
        if c == '"':
            return self.field_value(name, self.phrase(), start, quoted=True)
        raw = self.word(_VALUE_END)
        return self.field_value(name, raw, start, quoted=False)

    def range_(self, name: str) -> Node:
        start = self.i
        lo_incl = self.s[self.i] == "["
        end = min([p for p in (self.s.find("]", self.i), self.s.find("}", self.i)) if p != -1], default=-1)
        if end == -1:
            raise self.error("unclosed range, expected ']' or '}'", start)
        body = self.s[self.i + 1:end]
        parts = re.split(r"\s+TO\s+", body.strip())
        if len(parts) != 2 or not all(parts):
            raise self.error("a range is [LOW TO HIGH] (use * for open ends)", start)
        hi_incl = self.s[end] == "]"
        self.i = end + 1
        if name not in NUMERIC_FIELDS and name not in DATE_FIELDS:
            raise self.error(f"field {name!r} does not take a range (ranges: "
                             f"{', '.join([*NUMERIC_FIELDS, *DATE_FIELDS])})", start)
        lo = None if parts[0] == "*" else self.bound(name, parts[0], start, upper=False)
        hi = None if parts[1] == "*" else self.bound(name, parts[1], start, upper=True)
        return self.mk_range(name, lo, lo_incl, hi, hi_incl)

    def comparison(self, name: str, op: str, raw: str, pos: int) -> Node:
        if name not in NUMERIC_FIELDS and name not in DATE_FIELDS:
            raise self.error(f"field {name!r} does not take a comparison", pos)
        if op in (">", ">="):
            return self.mk_range(name, self.bound(name, raw, pos, upper=op == ">"), op == ">=", None, True)
        return self.mk_range(name, None, True, self.bound(name, raw, pos, upper=op == "<="), op == "<=")

    def mk_range(self, name, lo, lo_incl, hi, hi_incl) -> Node:
        """Bounds are (value, day_precision). A date-only upper bound covers the whole day."""
        field = DATE_FIELDS.get(name, name)
        kw: dict = {}
        if lo is not None:
            v, day = lo
            if day and not lo_incl:          # > 2024-01-31 means from 2024-02-01
                kw["gte"] = v
            else:
                kw["gte" if lo_incl else "gt"] = v
        if hi is not None:
            v, day = hi
            if day:                          # <= 2024-01-31 means before 2024-02-01; < keeps the day start
                kw["lt"] = v
            else:
                kw["lte" if hi_incl else "lt"] = v
        return Range(field, **kw)

    def bound(self, name: str, raw: str, pos: int, *, upper: bool):
        """(number, False) for numeric fields; (epoch ms, is_whole_day) for dates, rounded as documented."""
        if name in NUMERIC_FIELDS:
            return self.number(name, raw, pos), False
        return self.date(raw, pos, upper)

    def number(self, name: str, raw: str, pos: int) -> int | float:
        """A plain decimal number (no inf/nan, no 1_000) within NUMERIC_LIMITS[name]."""
        kind, (lo, hi) = NUMERIC_FIELDS[name], NUMERIC_LIMITS[name]
        if not _FLOAT.fullmatch(raw):
            raise self.error(f"{name} needs a number, got {_short(raw)}", pos)
        if kind is int and not _INT.fullmatch(raw):
            raise self.error(f"{name} needs a whole number, got {_short(raw)}", pos)
        value = float(raw)              # never overflows: 1e400 is inf, caught below
        if not lo <= value <= hi:
            raise self.error(f"{name} must be between {lo:,} and {hi:,}, got {_short(raw)}", pos)
        return int(raw) if kind is int else value

    def date(self, raw: str, pos: int, upper: bool) -> tuple[int, bool]:
        """Epoch ms, computed in integers so no date is out of Python's range; years 1-9999 only."""
        m = _REL_DATE.match(raw)
        if m:
            at = _ms(self.now)
            if m.group(1):
                amount = m.group(2)
                delta = int(amount) * _UNIT_MS[m.group(3)] if len(amount) <= 15 else MAX_MS - MIN_MS + 1
                at = at + delta if m.group(1) == "+" else at - delta
            return self.in_range(at, raw, pos), False
        if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", raw):
            try:
                d = date.fromisoformat(raw if len(raw) == 10 else raw + "-01")
            except ValueError:
                raise self.error(f"invalid date {_short(raw)}", pos) from None
            start = _ms(datetime(d.year, d.month, d.day, tzinfo=timezone.utc))
            if not upper:
                return start, True
            if len(raw) == 7:                       # a month: 2024-01 ends where the next month starts
                year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
                return (_ms(datetime(year, month, 1, tzinfo=timezone.utc)) if year <= 9999 else MAX_MS), True
            return start + DAY_MS, True
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise self.error(f"invalid date {_short(raw)} (use 2024-01-31, 2024-01-31T10:00Z or now-7d)",
                             pos) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return self.in_range(_ms(dt), raw, pos), False

    def in_range(self, ms: int, raw: str, pos: int) -> int:
        if not MIN_MS <= ms <= MAX_MS:
            raise self.error(f"date {_short(raw)} is out of range (years 0001 to 9999)", pos)
        return ms

    def field_value(self, field: str | None, value: str, pos: int, *, quoted: bool) -> Node:
        """A bare word or phrase, for free text or for a field."""
        if field is None or field in TEXT_FIELDS:
            fields = (field,) if field else TEXT_FIELDS
            if not quoted and value == "*":
                return MatchAll()
            if not quoted and value.endswith("*") and len(value) > 1:
                toks = tokens(value[:-1])
                if len(toks) != 1 or value[:-1].rstrip("*") != value[:-1]:
                    raise self.error(f"a prefix search needs one plain word before '*', got {value!r}", pos)
                return Text(fields, (toks[0],), prefix=True)
            toks = tuple(tokens(value))
            return Text(fields, toks) if toks else MatchAll()
        if field == "key":                  # listing keys are case-sensitive ids
            return Keyword("key", (value,))
        if field in KEYWORD_FIELDS:
            stored = KEYWORD_FIELDS[field]
            return Keyword(stored, (lower(value),), fold=stored not in IDENTIFIER_FIELDS)
        if field == "entity":
            return Keyword("entity_value", (entity_value(value),))
        if field in ENTITY_GROUPS or field in SIGNAL_VALUE_TYPES:
            types = ENTITY_GROUPS.get(field, (field,))
            v = entity_value(value, phone=field == "phone")
            return Keyword("entity", tuple(f"{t}:{v}" for t in types))
        if field in NUMERIC_FIELDS or field in DATE_FIELDS:
            if field in NUMERIC_FIELDS:
                v = self.number(field, value, pos)
                return Range(field, gte=v, lte=v)
            return self.mk_range(field, self.date(value, pos, False), True, self.date(value, pos, True), True)
        if field in FLAG_FIELDS:
            v = value.lower()
            if v not in ("true", "false", "yes", "no", "1", "0"):
                raise self.error(f"{field} is true or false, got {value!r}", pos)
            return Flag(field, v in ("true", "yes", "1"))
        raise self.error(f"unknown field {field!r}", pos)


def entity_value(value: str, *, phone: bool = False) -> str:
    """How signal values are compared: lowercased; phone numbers without spaces, dashes, dots, brackets."""
    v = value.strip()
    if phone:
        v = re.sub(r"[\s\-.()/]", "", v)
    return lower(v)


def _short(raw: str, limit: int = 40) -> str:
    """A value quoted for an error message, cut so a hostile 10,000-character value stays one short line."""
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")


def _ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def parse(text: str, *, now: datetime | None = None) -> Node:
    """Parse query-language text into an AST (raises QuerySyntaxError)."""
    if len(text) > 10_000:
        raise QuerySyntaxError("query longer than 10000 characters", text[:100], 10_000)
    return _Parser(text, now or datetime.now(timezone.utc)).parse()


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
