"""Full-text analysis shared by both backends, so a query means the same thing on SQLite and Elasticsearch.

Elasticsearch indexes title, description and vendor with its `standard` analyzer: Unicode (UAX #29) word
segmentation, then lowercasing. SQLite's FTS5 tokenizers segment differently ("99.5", "don't", "a_b" and
"e.g" are one token in ES but two in unicode61), so the SQLite backend does not let FTS5 tokenize: it
indexes the tokens produced here, each encoded as one FTS5-safe bareword. `tokens()` is tested against
Elasticsearch's own `_analyze` on real listing titles (tests/index/test_store_text.py).

Highlighting on SQLite uses the same tokens with their offsets; everything outside <mark> is HTML-escaped
because scraped text is hostile.
"""
from __future__ import annotations

import html
import re
from typing import Iterable, Iterator

import regex

MAX_TOKEN_LENGTH = 255          # Lucene StandardTokenizer default: longer tokens are split
# A UAX #29 word segment becomes a token when it holds a letter, a digit or an emoji (as in Lucene).
_WORD = regex.compile(r"(?V1w)\b.+?\b", regex.DOTALL)
# Symbols (not letters or digits) that Lucene's StandardTokenizer still emits as tokens: its emoji set and
# a few symbol ranges it treats as letters. Derived from Elasticsearch 9.2's `_analyze` over every symbol code
# point; tests/index/test_store_text.py re-checks it against the running server.
_SYMBOL_TOKENS = (
    "\U000000A9\U000000AE\U000002C2-\U000002C5\U000002D2-\U000002D7\U000002DE-\U000002DF\U000002ED"
    "\U000002EF-\U000002FF\U0000055B-\U0000055C\U0000055E\U000005F3\U0000066B\U0000109E-\U0000109F"
    "\U000019DE-\U000019DF\U00001AA0-\U00001AA6\U00001AA8-\U00001AAD\U0000203C\U00002049\U00002122"
    "\U00002194-\U00002199\U000021A9-\U000021AA\U0000231A-\U0000231B\U00002328\U00002388\U000023CF"
    "\U000023E9-\U000023F3\U000023F8-\U000023FA\U000024D0-\U000024E9\U000025AA-\U000025AB\U000025B6\U000025C0"
    "\U000025FB-\U000025FE\U00002600-\U00002605\U00002607-\U00002612\U00002614-\U00002685\U00002690-\U00002705"
    "\U00002708-\U00002712\U00002714\U00002716\U0000271D\U00002721\U00002728\U00002733-\U00002734\U00002744"
    "\U00002747\U0000274C\U0000274E\U00002753-\U00002755\U00002757\U00002763-\U00002767\U00002795-\U00002797"
    "\U000027A1\U000027B0\U000027BF\U00002934-\U00002935\U00002B05-\U00002B07\U00002B1B-\U00002B1C\U00002B50"
    "\U00002B55\U00002E80-\U00002E99\U00002E9B-\U00002EF3\U00002F00-\U00002FD5\U00003030\U0000303D"
    "\U0000309B-\U0000309C\U000030A0\U00003297\U00003299\U000032D0-\U000032FE\U00003300-\U00003357"
    "\U0001F000-\U0001F0FF\U0001F10D-\U0001F10F\U0001F12F-\U0001F149\U0001F150-\U0001F169\U0001F16C-\U0001F189"
    "\U0001F18E\U0001F191-\U0001F19A\U0001F1AD-\U0001F1E5\U0001F200-\U0001F20F\U0001F21A\U0001F22F"
    "\U0001F232-\U0001F23A\U0001F23C-\U0001F23F\U0001F249-\U0001F53D\U0001F546-\U0001F64F\U0001F680-\U0001F6FF"
    "\U0001F774-\U0001F77F\U0001F7D5-\U0001F7FF\U0001F80C-\U0001F80F\U0001F848-\U0001F84F\U0001F85A-\U0001F85F"
    "\U0001F888-\U0001F88F\U0001F8AE-\U0001F8FF\U0001F90C-\U0001F93A\U0001F93C-\U0001F945\U0001F947-\U0001FBEF"
    "\U0001FBFA-\U0001FFFD"
)
_TOKEN_CHAR = regex.compile("[\\p{L}\\p{N}\\p{Regional_Indicator}" + _SYMBOL_TOKENS + "]")
# Lucene keeps a run of South-East Asian script (Thai, Lao, Myanmar, Khmer) as one token.
_SEA = regex.compile(r"[\p{Thai}\p{Lao}\p{Myanmar}\p{Khmer}\p{Tai_Tham}\p{New_Tai_Lue}\p{Tai_Viet}]")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_NEEDS_ENCODING = re.compile(r"[^a-z0-9 ]")


def lower(text: str) -> str:
    """Per-code-point simple lowercase, as Lucene's LowerCaseFilter (Python's full mapping differs for İ)."""
    out = text.lower()
    if text.isascii():
        return out
    if len(out) != len(text) or ("\u03a3" in text):   # İ -> i̇ and final-sigma rules are contextual
        out = "".join(c.lower() if len(c.lower()) == 1 else c.lower()[0] for c in text)
    return out


# ASCII fast path: the UAX #29 rules restricted to ASCII. Letters/digits/underscore join; ":" "." "'" join
# two letters (WB6/7); "," ";" "." "'" join two digits (WB11/12). Checked against the general path.
_ASCII_TOKEN = re.compile(        # stdlib re: several times faster than `regex` on this pattern
    r"[A-Za-z0-9_]+(?:(?:(?<=[A-Za-z])[:.'](?=[A-Za-z])|(?<=[0-9])[,;.'](?=[0-9]))[A-Za-z0-9_]+)*")


# Chunks of text holding a non-ASCII character, up to ASCII whitespace on both sides. UAX #29 never joins
# across ASCII whitespace, so only these chunks need the general (slow) segmentation; the text around
# them takes the ASCII path, and one accented word no longer sends a whole field down the slow path.
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]")


def _non_ascii_chunks(text: str) -> Iterator[tuple[int, int]]:
    end = 0
    for m in _NON_ASCII.finditer(text):
        if m.start() < end:
            continue                    # inside the chunk just yielded
        start = max(text.rfind(c, end, m.start()) for c in " \t\n\r\f\v") + 1
        space = _ASCII_SPACE.search(text, m.end())
        end = space.start() if space else len(text)
        yield max(start, 0), end


def token_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, lowercased token) for every token of `text`, in order."""
    if not text:
        return
    if text.isascii():
        yield from _ascii_spans(text, 0, len(text))
        return
    pos = 0
    for start, end in _non_ascii_chunks(text):
        yield from _ascii_spans(text, pos, start)
        for s, e, tok in _uax29_spans(text[start:end]):
            yield start + s, start + e, tok
        pos = end
    yield from _ascii_spans(text, pos, len(text))


def _ascii_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int, str]]:
    for m in _ASCII_TOKEN.finditer(text, start, end):
        tok = m.group()
        if "_" in tok and not tok.strip("_"):
            continue
        s, e = m.span()
        if e - s > MAX_TOKEN_LENGTH:
            yield from _split_long(text, s, e)
        else:
            yield s, e, tok.lower()


def _uax29_spans(text: str) -> Iterator[tuple[int, int, str]]:
    pending: tuple[int, int] | None = None       # a South-East Asian run being merged
    for m in _WORD.finditer(text):
        seg = m.group()
        if not _TOKEN_CHAR.search(seg):
            if pending:
                yield from _split_long(text, *pending)
                pending = None
            continue
        if _SEA.match(seg):
            if pending and pending[1] == m.start():
                pending = (pending[0], m.end())
            else:
                if pending:
                    yield from _split_long(text, *pending)
                pending = (m.start(), m.end())
            continue
        if pending:
            yield from _split_long(text, *pending)
            pending = None
        yield from _split_long(text, m.start(), m.end())
    if pending:
        yield from _split_long(text, *pending)


def _split_long(text: str, start: int, end: int) -> Iterator[tuple[int, int, str]]:
    while end - start > MAX_TOKEN_LENGTH:
        yield start, start + MAX_TOKEN_LENGTH, lower(text[start:start + MAX_TOKEN_LENGTH])
        start += MAX_TOKEN_LENGTH
    yield start, end, lower(text[start:end])


def tokens(text: str | None) -> list[str]:
    """The lowercased tokens of `text`, as Elasticsearch's standard analyzer produces them."""
    if not text:
        return []
    if text.isascii():                      # hot path of bulk indexing: no offsets needed
        return _ascii_tokens(text)
    out: list[str] = []
    pos = 0
    for start, end in _non_ascii_chunks(text):
        out += _ascii_tokens(text[pos:start])
        out += [t for _, _, t in _uax29_spans(text[start:end])]
        pos = end
    out += _ascii_tokens(text[pos:])
    return out


def _ascii_tokens(text: str) -> list[str]:
    out = _ASCII_TOKEN.findall(text.lower())
    if ("_" in text and any(not t.strip("_") for t in out)) or \
            (len(text) > MAX_TOKEN_LENGTH and out and max(map(len, out)) > MAX_TOKEN_LENGTH):
        return [t for _, _, t in _ascii_spans(text, 0, len(text))]
    return out


# --- SQLite FTS5 encoding ------------------------------------------------------------------------------
# FTS5 is configured with `unicode61 tokenchars '_'`. A token made of [a-z0-9] only is written as is; any
# other token is written as "_" + hex(UTF-8). Both forms are single FTS5 barewords, never collide (plain
# tokens contain no "_"), and hex of UTF-8 preserves prefixes, so prefix queries work on both forms.

def encode_token(tok: str) -> str:
    if _ASCII_WORD.fullmatch(tok):
        return tok
    return "_" + tok.encode("utf-8").hex()


def fts_document(text: str | None) -> str:
    """The FTS5 column value for a text field: its encoded tokens separated by spaces."""
    toks = tokens(text)
    joined = " ".join(toks)
    if not _NEEDS_ENCODING.search(joined):
        return joined
    return " ".join(t if t.isascii() and t.isalnum() else encode_token(t) for t in toks)


def fts_prefix_terms(prefix: str) -> list[str]:
    """FTS5 prefix terms (without the trailing *) that together match every token starting with `prefix`."""
    hexed = "_" + prefix.encode("utf-8").hex()
    return [prefix, hexed] if _ASCII_WORD.fullmatch(prefix) else [hexed]


# --- Highlighting --------------------------------------------------------------------------------------

class Matcher:
    """Which tokens of a field a query's positive text clauses match: single terms, phrases, prefixes."""

    def __init__(self, terms: Iterable[str] = (), phrases: Iterable[tuple[str, ...]] = (),
                 prefixes: Iterable[str] = ()):
        self.terms = set(terms)
        self.phrases = [p for p in phrases if p]
        self.prefixes = tuple(prefixes)

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases or self.prefixes)

    def spans(self, text: str) -> list[tuple[int, int]]:
        if text.isascii():          # a token is a substring of the lowercased text: skip texts without any
            low = text.lower()
            needles = (*self.terms, *self.prefixes, *(p[0] for p in self.phrases))
            if not any(n in low for n in needles):
                return []
        toks = list(token_spans(text))
        marked = [False] * len(toks)
        words = [t for _, _, t in toks]
        for i, w in enumerate(words):
            if w in self.terms or (self.prefixes and w.startswith(self.prefixes)):
                marked[i] = True
        for phrase in self.phrases:
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if tuple(words[i:i + n]) == phrase:
                    for j in range(i, i + n):
                        marked[j] = True
        return [(s, e) for (s, e, _), m in zip(toks, marked) if m]


def highlight(text: str, spans: list[tuple[int, int]], *, fragment_size: int | None = None,
              max_fragments: int = 3) -> list[str]:
    """HTML-escaped fragments of `text` with the spans wrapped in <mark>; [] when nothing matched.

    fragment_size=None returns the whole field as one fragment (titles, vendor names).
    """
    if not spans:
        return []
    if fragment_size is None:
        return [_mark(text, 0, len(text), spans)]
    frags, used_until = [], -1
    for s, e in spans:
        if s < used_until:
            continue
        start = max(0, s - fragment_size // 3)
        end = min(len(text), start + fragment_size)
        # widen to word edges so a fragment never cuts a word in half
        while start > 0 and not text[start - 1].isspace() and s - start < fragment_size // 2:
            start -= 1
        while end < len(text) and not text[end].isspace() and end - e < fragment_size // 2:
            end += 1
        frags.append(_mark(text, start, end, [sp for sp in spans if sp[0] >= start and sp[1] <= end]))
        used_until = end
        if len(frags) >= max_fragments:
            break
    return frags


def _mark(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    out, pos = [], start
    for s, e in spans:
        if s < pos or e > end:
            continue
        out.append(html.escape(text[pos:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    return "".join(out).strip()
