"""Query text -> AST with luqum's Lucene grammar, plus the checks that keep hostile input bounded.

Two passes:
1. `_Scan` reads the text once, linearly (no recursion, no backtracking): it refuses what must never reach a
   parser — nesting deeper than MAX_DEPTH, more than MAX_TERMS terms, unclosed quotes, parentheses and ranges,
   unknown fields — with the position, and writes the text luqum parses. In that text every character of a word or
   value that luqum would read as syntax is escaped (so `3-MMC`, `key:agora:1`, `last_seen:>=2024-01-01T10:00Z`
   and `risk:>=-5` stay plain values), `&&`, `||` and `!` become AND, OR and NOT, and whitespace is one space.
   `offsets` maps each character of that text back to the query as typed.
2. luqum parses it (PLY, under a lock: its lexer and parser keep state), and `_Build` walks the tree into the
   index.query_ast nodes. Values are read back from the typed text, so they mean exactly what was typed; the
   precedence is NOT > AND (also implicit) > OR, with luqum's operator chains flattened and regrouped.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime

from luqum import tree as L
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser as _luqum

from index.query_ast import (ALL_FIELDS, MAX_DEPTH, MAX_TERMS, MatchAll, Node, QuerySyntaxError, and_, not_,
                             or_)
from index.query_values import RANGE_TO, Values

MAX_LENGTH = 10_000
_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")
_WORD = re.compile(r"[^\s()\"]+")           # a bare word ends at whitespace, a parenthesis or a quote
_VALUE = re.compile(r"[^\s()]+")            # a field's value ends at whitespace or a parenthesis
_PHRASE = re.compile(r'"(?:\\.|[^"\\])*"', re.S)
_COMPARISON = re.compile(r">=|<=|>|<")
_OPERATORS = ("AND", "OR", "NOT")
_LOCK = threading.Lock()


class _Scan:
    """One linear pass over the query: bounds, lexical errors, and the escaped text for luqum."""

    def __init__(self, text: str):
        self.s, self.i = text, 0
        self.out: list[str] = []
        self.offsets: list[int] = []
        self.terms = 0
        self.base = 0                       # nesting of the enclosing groups and NOTs
        self.pending_not = 0                # NOTs waiting for their operand
        self.groups: list[tuple[int, int, bool]] = []    # open '(' : position, outer base, is a field's group
        self.after_term = False             # AND/OR (&&, ||) join terms; where a term starts they are words
        self.primary = False                # right after a - or + prefix: NOT, && and ! are plain words

    def error(self, message: str, pos: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.s, pos)

    def emit(self, text: str, pos: int) -> None:
        self.out.append(text)
        self.offsets.extend([pos] * len(text))

    def emit_value(self, start: int, end: int) -> None:
        """A word or value, every character that is not a letter or digit escaped for luqum."""
        chunk = self.s[start:end]
        keyword = chunk in (*_OPERATORS, "TO")      # a value spelt like an operator
        if chunk.isalnum() and not keyword:         # most words: nothing to escape
            self.out.append(chunk)
            self.offsets.extend(range(start, end))
            return
        for k in range(start, end):
            c = self.s[k]
            self.emit(c if c.isalnum() and not (keyword and k == start) else "\\" + c, k)

    def nest(self, pos: int, level: int) -> None:
        if level > MAX_DEPTH:
            raise self.error(f"query nests deeper than {MAX_DEPTH} levels of parentheses or NOT", pos)

    def term(self, pos: int) -> None:
        self.terms += 1
        self.pending_not = 0
        self.after_term, self.primary = True, False
        if self.terms > MAX_TERMS:
            raise self.error(f"query has more than {MAX_TERMS} terms", pos)

    def separate(self) -> None:
        """After a term, a space unless whitespace or ')' follows: `a"b"` and `a(b)` are two terms, as typed."""
        if self.i < len(self.s) and not self.s[self.i].isspace() and self.s[self.i] != ")":
            self.emit(" ", self.i)

    def run(self) -> tuple[str, list[int]]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c.isspace():
                start = self.i
                while self.i < len(s) and s[self.i].isspace():
                    self.i += 1
                self.emit(" ", start)
            elif c == "(":
                self.open_group(field_group=False)
            elif c == ")":
                self.close_group()
            elif c == '"':
                self.phrase()
            elif c in "-+" and self.i + 1 < len(s) and not s[self.i + 1].isspace() and s[self.i + 1] not in ")-+":
                self.emit(c, self.i)            # a prefix: -a is NOT a, +a is a
                self.i += 1
                self.after_term, self.primary = False, True
            elif not self.in_field_group() and (m := _FIELD.match(s, self.i)):
                self.field(m)
            else:
                self.word()
        if self.groups:
            raise self.error("unclosed '('", self.groups[-1][0])
        self.offsets.append(len(s))
        return "".join(self.out), self.offsets

    def in_field_group(self) -> bool:
        return any(is_field for _, _, is_field in self.groups)

    def open_group(self, *, field_group: bool) -> None:
        level = self.base + self.pending_not + 1
        self.nest(self.i, level)
        self.groups.append((self.i, self.base, field_group))
        self.base, self.pending_not = level, 0
        self.after_term = self.primary = False
        self.emit("(", self.i)
        self.i += 1

    def close_group(self) -> None:
        if not self.groups:
            raise self.error("unbalanced ')'", self.i)
        _, self.base, _ = self.groups.pop()
        self.pending_not = 0
        self.after_term = True
        self.emit(")", self.i)
        self.i += 1
        self.separate()

    def phrase(self) -> None:
        m = _PHRASE.match(self.s, self.i)
        if not m:
            raise self.error("unclosed quote", self.i)
        self.term(self.i)
        for k in range(m.start(), m.end()):
            self.emit(self.s[k], k)
        self.i = m.end()
        self.separate()

    def word(self) -> None:
        s, start = self.s, self.i
        w = _WORD.match(s, start).group()
        end = start + len(w)
        whole = end >= len(s) or s[end].isspace() or s[end] in "()"
        if w in ("AND", "OR") and (self.primary or not self.after_term):
            raise self.error(f"{w} needs a term on both sides", start)
        if not self.primary:
            if w in _OPERATORS and whole:
                return self.operator(w, start, end)
            if w.startswith(("&&", "||")) and self.after_term:
                return self.operator("AND" if w[0] == "&" else "OR", start, start + 2)
            if w[0] == "!" and ((len(w) > 1 and w[1].isalnum()) or (len(w) == 1 and end < len(s) and s[end] in '("')):
                return self.operator("NOT", start, start + 1)
        self.term(start)
        self.emit_value(start, end)
        self.i = end
        self.separate()

    def operator(self, op: str, start: int, end: int) -> None:
        if op == "NOT":
            self.pending_not += 1
            self.nest(start, self.base + self.pending_not)
        self.emit(f" {op} ", start)
        self.after_term = False
        self.i = end

    def field(self, m: re.Match) -> None:
        s, start, name = self.s, self.i, m.group(1)
        if name.lower() not in ALL_FIELDS:
            raise self.error(f"unknown field {name!r} (known: {', '.join(ALL_FIELDS)}); "
                             f"put the text in quotes to search it literally", start)
        self.emit(name.lower() + ":", start)
        self.i = j = m.end()
        if j >= len(s) or s[j].isspace():
            raise self.error(f"missing value after '{name.lower()}:'", start)
        if s[j] == ")":
            raise self.error("expected a term", j)
        if s[j] == "(":
            self.primary = False
            self.open_group(field_group=True)
        elif s[j] == '"':
            self.phrase()
        elif s[j] in "[{":
            self.range_(j)
        elif (op := _COMPARISON.match(s, j)):
            self.term(start)
            self.emit(op.group(), j)
            self.i = vpos = op.end()
            if vpos >= len(s) or s[vpos].isspace():
                raise self.error(f"missing value after '{name.lower()}:{op.group()}'", vpos)
            self.value()
        else:
            self.term(start)
            self.value()

    def value(self) -> None:
        m = _VALUE.match(self.s, self.i)
        if not m:
            raise self.error("expected a term", self.i)
        end = m.end()
        self.emit_value(self.i, end)
        self.i = end
        self.separate()

    def range_(self, start: int) -> None:
        s = self.s
        end = min([p for p in (s.find("]", start), s.find("}", start)) if p != -1], default=-1)
        if end == -1:
            raise self.error("unclosed range, expected ']' or '}'", start)
        parts = RANGE_TO.split(s[start + 1:end].strip())
        if len(parts) != 2 or not all(parts):
            raise self.error("a range is [LOW TO HIGH] (use * for open ends)", start)
        self.term(start)
        body = s[start + 1:end].strip()
        lo, hi = parts
        self.emit(s[start], start)
        self.emit_bound(lo, s.index(body, start))
        self.emit(" TO ", start)
        self.emit_bound(hi, s.rindex(hi, start, end))
        self.emit(s[end], end)
        self.i = end + 1
        self.separate()

    def emit_bound(self, bound: str, pos: int) -> None:
        if bound == "*":
            self.emit("*", pos)
        else:
            self.emit_value(pos, pos + len(bound))


class _Build:
    """luqum's tree -> AST nodes, each value read back from the query as typed."""

    def __init__(self, text: str, offsets: list[int], now: datetime):
        self.s, self.offsets, self.values = text, offsets, Values(text, now)

    def span(self, node: L.Item) -> tuple[int, int]:
        """Where `node` is in the typed query (start, end), without surrounding whitespace."""
        a = self.offsets[node.pos]
        b = self.offsets[node.pos + node.size - 1] + 1
        while a < b and self.s[a].isspace():
            a += 1
        while b > a and self.s[b - 1].isspace():
            b -= 1
        return a, b

    def raw(self, node: L.Item) -> tuple[str, int]:
        a, b = self.span(node)
        return self.s[a:b], a

    def build(self, node: L.Item, field: str | None = None) -> Node:
        if isinstance(node, (L.AndOperation, L.OrOperation, L.UnknownOperation)):
            return self.operation(node, field)
        if isinstance(node, (L.Not, L.Prohibit)):
            return not_(self.build(node.a, field))
        if isinstance(node, L.Plus):
            return self.build(node.a, field)
        if isinstance(node, (L.Group, L.FieldGroup)):
            return self.build(node.expr, field)
        if isinstance(node, L.SearchField):
            return self.search_field(node)
        if isinstance(node, L.Phrase):
            raw, pos = self.raw(node)
            return self.values.field_value(field, _unescape(raw[1:-1]), pos, quoted=True)
        raw, pos = self.raw(node)                  # a Word: its text as typed
        return self.values.field_value(field, raw, pos, quoted=False)

    def operation(self, node: L.Item, field: str | None) -> Node:
        """A chain of luqum operations, flattened to operands and operators, regrouped as NOT > AND > OR."""
        seq: list = []

        def flatten(n: L.Item) -> None:
            if isinstance(n, (L.AndOperation, L.OrOperation, L.UnknownOperation)):
                for k, child in enumerate(n.children):
                    if k:
                        seq.append("OR" if isinstance(n, L.OrOperation) else "AND")
                    flatten(child)
            else:
                seq.append(n)
        flatten(node)
        alternatives: list[list[Node]] = [[]]
        for item in seq:
            if item == "OR":
                alternatives.append([])
            elif item != "AND":
                alternatives[-1].append(self.build(item, field))
        return or_(*(and_(*group) for group in alternatives))

    def search_field(self, node: L.SearchField) -> Node:
        name, start = node.name, self.span(node)[0]
        expr = node.expr
        if isinstance(expr, L.FieldGroup):
            return self.build(expr.expr, name)
        if isinstance(expr, L.Range):
            raw, pos = self.raw(expr)
            return self.values.range_(name, raw, pos)
        if isinstance(expr, (L.From, L.To)):
            raw, pos = self.raw(expr)
            op = _COMPARISON.match(raw).group()
            return self.values.comparison(name, op, raw[len(op):], pos + len(op))
        if isinstance(expr, L.Phrase):
            raw, _ = self.raw(expr)
            return self.values.field_value(name, _unescape(raw[1:-1]), start, quoted=True)
        raw, _ = self.raw(expr)
        return self.values.field_value(name, raw, start, quoted=False)


def _unescape(body: str) -> str:
    """A phrase's text: a backslash keeps the next character as it is."""
    return re.sub(r"\\(.)", r"\1", body, flags=re.S)


_LUQUM_AT = re.compile(r"unexpected\s+'(.*)' at position (\d+)", re.S)
_ILLEGAL_AT = re.compile(r"Illegal character '(.*)' at position (\d+)", re.S)


def _luqum_error(exc: ParseError, text: str, offsets: list[int]) -> QuerySyntaxError:
    """luqum's message -> ours, at the position in the typed query."""
    message = str(exc)
    m = _LUQUM_AT.search(message) or _ILLEGAL_AT.search(message)
    if not m:
        return QuerySyntaxError("expected a term", text, len(text))
    token, pos = m.group(1), offsets[min(int(m.group(2)), len(offsets) - 1)]
    if token in ("AND", "OR"):
        return QuerySyntaxError(f"{token} needs a term on both sides", text, pos)
    return QuerySyntaxError(f"unexpected {token[:1]!r}", text, pos)


def parse(text: str, *, now: datetime) -> Node:
    """Query text -> AST (raises QuerySyntaxError with the position)."""
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"query longer than {MAX_LENGTH} characters", text[:100], MAX_LENGTH)
    escaped, offsets = _Scan(text).run()
    if not escaped.strip():
        return MatchAll()
    try:
        with _LOCK:
            tree = _luqum.parse(escaped)
    except (ParseError, IllegalCharacterError) as exc:
        raise _luqum_error(exc, text, offsets) from None
    except RecursionError:
        raise QuerySyntaxError(f"query nests deeper than {MAX_DEPTH} levels of parentheses or NOT", text, 0) \
            from None
    try:
        return _Build(text, offsets, now).build(tree)
    except RecursionError:
        raise QuerySyntaxError(f"query nests deeper than {MAX_DEPTH} levels of parentheses or NOT", text, 0) \
            from None
