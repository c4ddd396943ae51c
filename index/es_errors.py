"""Search-engine failures as store errors: one line that names the server and says why.

Both clients (elasticsearch-py, opensearch-py) raise their own exception classes; the store's client seam
(index.search_client.Engine) names them, and everything here reads either.
"""
from __future__ import annotations

import re
from functools import wraps

from index.store import StoreError, StoreUnavailable

RETRY_STATUSES = (429, 502, 503, 504)       # bulk items and requests the client retries with backoff


def store_error(engine, url: str, exc: Exception) -> StoreError:
    """The store error for a client exception: unreachable and refused credentials are StoreUnavailable."""
    name = engine.name
    if isinstance(exc, engine.connection_errors):
        return StoreUnavailable(f"cannot reach {name} at {url}: {reason(exc)}")
    if isinstance(exc, engine.auth_errors):
        return StoreUnavailable(f"{name} at {url} refused the credentials: {reason(exc)}")
    if isinstance(exc, engine.api_error):
        return StoreError(f"{name} at {url}: {reason(exc)}")
    return StoreError(f"{name} at {url}: {type(exc).__name__}: {exc}")


def translate_errors(fn):
    """Client exceptions become store errors whose one-line message names the URL."""
    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._store_error(exc) from exc
    return wrapper


def item_error(info: dict) -> str:
    if isinstance(info.get("exception"), Exception):     # the whole request failed: say why
        return reason(info["exception"])
    err = info.get("error")
    if isinstance(err, dict):
        return f"{err.get('type')}: {err.get('reason')}"
    return str(err or f"status {info.get('status')}")


def reason(exc: Exception) -> str:
    status = getattr(getattr(exc, "meta", None), "status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):         # an answer from the server (either client's API error)
        info = exc.info if isinstance(getattr(exc, "info", None), dict) else {}
        err = info.get("error")
        if isinstance(err, dict):
            roots = [r for r in err.get("root_cause") or () if isinstance(r, dict) and r.get("reason")]
            why = f" ({roots[0].get('type')}: {roots[0]['reason']})" if roots and roots[0]["reason"] != err.get(
                "reason") else ""
            return f"{err.get('type')}: {err.get('reason')}{why}"
        return f"HTTP {status}: {getattr(exc, 'message', None) or getattr(exc, 'error', '')}"
    detail = str(exc.__cause__ or "") or (exc.args[0] if exc.args and isinstance(exc.args[0], str) else "")
    pattern = r"\[Errno -?\d+\] [^)'\"]+|timed out|Name or service not known|certificate verify failed[^)'\"]*"
    m = re.search(pattern, detail or repr(exc)) or re.search(pattern, str(exc))     # opensearch-py: in str()
    if m:
        return m.group(0).strip()
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return msg[:300]

