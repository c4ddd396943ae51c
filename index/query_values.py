"""What a value means for its field: words and phrases become Text, ids Keyword, numbers and dates Range.

The parser (index.query_parser) hands over the value exactly as typed; the bounds that keep hostile input from
the backends live here: numbers plain, finite and within the field's stored type, dates within years 1-9999.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from index.documents import DAY_MS
from index.query_ast import (DATE_FIELDS, ENTITY_GROUPS, FLAG_FIELDS, IDENTIFIER_FIELDS, KEYWORD_FIELDS,
                             NUMERIC_FIELDS, NUMERIC_LIMITS, SIGNAL_VALUE_TYPES, TEXT_FIELDS, Flag, Keyword,
                             MatchAll, Node, QuerySyntaxError, Range, Text)
from index.text import lower, tokens

_REL_DATE = re.compile(r"now(?:([+-])(\d+)([smhdw]))?$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
RANGE_TO = re.compile(r"\s+TO\s+")
MIN_MS = -62_135_596_800_000    # 0001-01-01T00:00:00Z
MAX_MS = 253_402_300_800_000    # 10000-01-01T00:00:00Z, the end of 9999-12-31


class Values:
    """Turns (field, value as typed, its position) into AST nodes for one query; errors carry the position."""

    def __init__(self, text: str, now: datetime):
        self.s, self.now = text, now

    def error(self, message: str, pos: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.s, pos)

    def range_(self, name: str, raw: str, start: int) -> Node:
        """`[LOW TO HIGH]`, `{LOW TO HIGH}` or mixed brackets, as typed (the parser checked its shape)."""
        if name not in NUMERIC_FIELDS and name not in DATE_FIELDS:
            raise self.error(f"field {name!r} does not take a range (ranges: "
                             f"{', '.join([*NUMERIC_FIELDS, *DATE_FIELDS])})", start)
        parts = RANGE_TO.split(raw[1:-1].strip())
        lo = None if parts[0] == "*" else self.bound(name, parts[0], start, upper=False)
        hi = None if parts[1] == "*" else self.bound(name, parts[1], start, upper=True)
        return self.mk_range(name, lo, raw[0] == "[", hi, raw[-1] == "]")

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
            at = ms(self.now)
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
            start = ms(datetime(d.year, d.month, d.day, tzinfo=timezone.utc))
            if not upper:
                return start, True
            if len(raw) == 7:                       # a month: 2024-01 ends where the next month starts
                year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
                return (ms(datetime(year, month, 1, tzinfo=timezone.utc)) if year <= 9999 else MAX_MS), True
            return start + DAY_MS, True
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise self.error(f"invalid date {_short(raw)} (use 2024-01-31, 2024-01-31T10:00Z or now-7d)",
                             pos) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return self.in_range(ms(dt), raw, pos), False

    def in_range(self, value: int, raw: str, pos: int) -> int:
        if not MIN_MS <= value <= MAX_MS:
            raise self.error(f"date {_short(raw)} is out of range (years 0001 to 9999)", pos)
        return value

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


def ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)
