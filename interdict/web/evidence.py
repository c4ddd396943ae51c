"""Reading archived evidence safely: refs are hostile input.

Refs are relative to the evidence root <data_dir>/evidence/, as crawlers/archive.py writes them, and resolve
through that module's `resolve_ref` only: to a regular file inside the root (after resolving symlinks);
absolute paths, `..`, NUL bytes and anything escaping the archive are refused. Snapshots are gzip bodies;
reading one is bounded so a decompression bomb cannot exhaust memory.
"""
from __future__ import annotations

import gzip
import re
import hashlib
import zlib
from pathlib import Path

from crawlers.archive import evidence_root, resolve_ref as archive_resolve

MAX_SNAPSHOT_BYTES = 20 * 1024 * 1024


class EvidenceError(Exception):
    pass


def resolve_ref(data_dir: Path, ref: str | None) -> Path | None:
    """The file a listing's evidence ref points to, or None: the crawler archive's own resolver, rooted where the
    crawler writes (<data_dir>/evidence/), so the viewer, screenshots and bundles read what the crawl wrote."""
    return archive_resolve(evidence_root(data_dir), ref)


def read_snapshot(path: Path, limit: int = MAX_SNAPSHOT_BYTES) -> tuple[bytes, bool]:
    """The decompressed body (gzip, or plain if not gzip), at most `limit` bytes; (body, truncated)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    try:
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            body = fh.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise EvidenceError(f"{path.name}: unreadable snapshot ({exc})") from exc
    return body[:limit], len(body) > limit


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def body_sha256(path: Path, limit: int = 512 * 1024 * 1024) -> str | None:
    """SHA-256 of the decompressed body, streamed; None when unreadable or over `limit`."""
    h, total = hashlib.sha256(), 0
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with (gzip.open if gz else open)(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                total += len(chunk)
                if total > limit:
                    return None
                h.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return h.hexdigest()


# --- display copy ---------------------------------------------------------------------------------
# The viewer shows the archived page with its active content removed. The sandbox and CSP already stop it
# from running; removing it as well means the reviewer's browser never even attempts (no blocked-script
# noise, no beacon to a third-party host via an <img>). The evidence bundle keeps the exact archived bytes.
_DROP_TAGS = {"script", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet", "link", "meta",
              "base", "form", "portal", "template", "audio", "video", "source", "track"}
_URL_ATTRS = {"src", "href", "srcset", "action", "formaction", "poster", "background", "data", "xlink:href",
              "ping", "lowsrc", "dynsrc", "longdesc", "usemap", "cite", "codebase", "manifest"}
_CSS_URL = re.compile(r"url\s*\(|@import|expression\s*\(", re.I)


def display_html(body: bytes) -> str:
    """The archived page as static, inert HTML: no scripts, handlers, frames or external fetches."""
    import lxml.html
    from lxml import etree
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        return "<!doctype html><p>(empty page)</p>"
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return "<!doctype html><pre>" + html_escape(text) + "</pre>"
    for el in list(root.iter()):
        if not isinstance(el.tag, str):          # comments, processing instructions
            el.drop_tree() if el.getparent() is not None else None
            continue
        tag = el.tag.lower().split("}")[-1]
        if tag in _DROP_TAGS:
            if el.getparent() is not None:
                el.drop_tree()
            continue
        for name in list(el.attrib):
            low = name.lower()
            value = el.attrib[name]
            if low.startswith("on") or low in _URL_ATTRS and not value.strip().lower().startswith("data:image/"):
                del el.attrib[name]
            elif low == "style" and _CSS_URL.search(value):
                del el.attrib[name]
        if tag == "style" and el.text and _CSS_URL.search(el.text):
            el.text = _CSS_URL.sub("/*removed*/(", el.text)
        if tag == "svg":
            for sub in el.iter():
                if isinstance(sub.tag, str) and sub.tag.lower().split("}")[-1] in ("script", "foreignobject"):
                    if sub.getparent() is not None:
                        sub.drop_tree()
    return "<!doctype html>" + lxml.html.tostring(root, encoding="unicode")


def html_escape(text: str) -> str:
    import html
    return html.escape(text)
