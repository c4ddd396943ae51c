"""`auth: cookies`: a session the operator exported from a browser, as a Netscape cookies.txt or a JSON list.

Formats, as browser extensions and curl write them:
- Netscape (`# Netscape HTTP Cookie File`): tab-separated domain, include-subdomains, path, secure, expiry,
  name, value; HttpOnly cookies carry the `#HttpOnly_` prefix;
- JSON: a list of objects with at least `name` and `value`, usually `domain` and `path` (Cookie-Editor,
  EditThisCookie; extra keys such as expirationDate or sameSite are ignored).

Loaded once at preflight, so a bad file is one clear error naming the file (and line) before any traffic.
The values are secrets: they are never logged or archived.
"""
from __future__ import annotations

import json
from pathlib import Path


class CookiesFileError(ValueError):
    """A cookies file that cannot be used; the message names the file (and line)."""


def load_cookies(path: str | Path) -> list[dict]:
    """[{name, value, domain?, path?}] for scrapy.Request(cookies=...)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CookiesFileError(f"{path}: cannot read cookies file: {exc}") from None
    cookies = _json(path, text) if text.lstrip().startswith(("[", "{")) else _netscape(path, text)
    if not cookies:
        raise CookiesFileError(f"{path}: no cookies in the file")
    return cookies


def _json(path: Path, text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CookiesFileError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("cookies"), list):    # {"cookies": [...]} exports
        data = data["cookies"]
    if not isinstance(data, list):
        raise CookiesFileError(f"{path}: expected a JSON list of cookies")
    out = []
    for i, c in enumerate(data):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or "value" not in c:
            raise CookiesFileError(f"{path}: cookie #{i + 1}: needs string 'name' and a 'value'")
        out.append({"name": c["name"], "value": str(c["value"]),
                    **{k: str(c[k]) for k in ("domain", "path") if c.get(k)}})
    return out


def _netscape(path: Path, text: str) -> list[dict]:
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_"):]
        elif not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 7:
            raise CookiesFileError(f"{path}:{lineno}: expected 7 tab-separated fields (Netscape cookies.txt), "
                                   f"got {len(parts)}")
        domain, _subdomains, cpath, _secure, _expires, name, value = parts
        if not name:
            raise CookiesFileError(f"{path}:{lineno}: empty cookie name")
        out.append({"name": name, "value": value, "domain": domain, "path": cpath or "/"})
    return out
