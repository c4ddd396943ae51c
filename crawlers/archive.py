"""Evidence archive: what was fetched, when, from where, and its SHA-256 — kept for reviewers and courts.

Layout under <data_dir>/evidence/ (refs in Listing.evidence are relative to that root):

    <site>/<run_id>/manifest.jsonl          one JSON line per fetched response and per stored listing
    <site>/<run_id>/bodies/<aa>/<sha256>.gz the body exactly as received (after transfer decoding), gzip
    <site>/<run_id>/screenshots/<sha256>.png browser mode: what the page looked like
    <site>/<run_id>/rendered/<sha256>.png    HTTP mode, optional: the archived snapshot rendered offline
                                            (crawlers/rendered_screenshots.py)

Bodies are content-addressed (an identical body is stored once per run). The SHA-256 is computed when the
response arrives; compressing, writing the body and appending the manifest happen on the archive's own writer
thread (zlib and file I/O release the GIL), in order, so a manifest line is never ahead of its body. `sync()`
waits until everything recorded so far is written and flushed: the store thread calls it before each batch
is upserted, so no stored listing points at a body a killed crawl never wrote. A resumed run appends to the
same manifest.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import queue
import threading
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

from index.models import Evidence, utcnow

# Headers worth keeping; cookies are session secrets of the operator and never archived.
_DROP_HEADERS = {"set-cookie", "cookie", "authorization", "proxy-authorization"}


RENDERED_DIR = "rendered"
RENDERED_LABEL = "rendered from archived snapshot"
CAPTURED_LABEL = "captured from the live page"


def screenshot_label(ref: str | None) -> str | None:
    """How a screenshot came about: the live page in browser mode, or the archived snapshot rendered offline."""
    if not ref:
        return None
    return RENDERED_LABEL if PurePosixPath(ref).parent.name == RENDERED_DIR else CAPTURED_LABEL


def evidence_root(data_dir: Path) -> Path:
    """The root every evidence ref is relative to (see resolve_ref)."""
    return Path(data_dir) / "evidence"


class EvidenceArchive:
    """Writes one run's evidence. Record from any thread; the writes happen in order on one writer thread."""

    def __init__(self, root: Path, site_id: str, run_id: str, gzip_level: int = 1):
        """gzip level 1: HTML compresses ~4-5x at level 1 against ~5-6x at level 5-6, for a third of the CPU;
        the archive's job is keeping the exact bytes and their hash, not the last percent of disk."""
        self.root = Path(root)
        self.rel_dir = Path(site_id) / run_id
        self.dir = self.root / self.rel_dir
        (self.dir / "bodies").mkdir(parents=True, exist_ok=True)
        self.gzip_level = gzip_level
        self.manifest_path = self.dir / "manifest.jsonl"
        self._manifest = open(self.manifest_path, "a", encoding="utf-8")
        self._dirs: set[Path] = set()       # directories known to exist (saves a mkdir per response)
        self._written: set[Path] = set()    # files this process wrote (saves a stat per repeated body)
        self.responses = 0
        self.bytes = 0
        self.write_errors = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name=f"evidence-{site_id}", daemon=True)
        self._writer.start()

    # ---- writer thread
    def _write_loop(self) -> None:
        q = self._queue
        while True:
            op = q.get()
            if op is None:
                self._manifest.flush()
                return
            try:
                if isinstance(op, threading.Event):
                    self._manifest.flush()
                    op.set()
                elif isinstance(op, dict):
                    self._manifest.write(json.dumps(op, ensure_ascii=False, default=str) + "\n")
                else:
                    self._write_once(*op)
            except Exception:    # a full disk must not kill the writer: the run counts and logs it
                self.write_errors += 1
                log.exception("evidence archive write failed")
            if q.empty():
                self._manifest.flush()

    def sync(self, timeout: float | None = 120) -> bool:
        """Wait until everything recorded so far is on disk (flushed to the OS)."""
        if not self._writer.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _write_once(self, path: Path, data: bytes | None = None, make=None) -> None:
        """Write a content-addressed file unless it is there (an identical body, or a resumed run's). Written to
        a .part file and renamed, so a crash never leaves a truncated file under a valid hash name."""
        if path in self._written or path.exists():
            self._written.add(path)
            return
        parent = path.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        tmp = path.with_suffix(path.suffix + ".part")
        with open(tmp, "wb") as fh:
            fh.write(data if make is None else make())
        os.replace(tmp, path)
        self._written.add(path)

    def record_response(self, *, url: str, status: int, headers: dict[str, list[str]], body: bytes,
                        fetched_at: datetime | None = None, request_url: str | None = None,
                        redirects: list[str] | None = None, screenshot: bytes | None = None,
                        run_id: str | None = None, proxy: str | None = None) -> Evidence:
        fetched_at = fetched_at or utcnow()
        sha = hashlib.sha256(body).hexdigest()
        body_rel = self.rel_dir / "bodies" / sha[:2] / f"{sha}.gz"
        level = self.gzip_level
        self._queue.put((self.root / body_rel, None, lambda: gzip.compress(body, level, mtime=0)))
        shot_rel = None
        if screenshot:
            shot_sha = hashlib.sha256(screenshot).hexdigest()
            shot_rel = self.rel_dir / "screenshots" / f"{shot_sha}.png"
            self._queue.put((self.root / shot_rel, screenshot, None))
        kept = {k: v for k, v in headers.items() if k.lower() not in _DROP_HEADERS}
        self.write_line({
            "kind": "response", "url": url, "request_url": request_url or url, "redirects": redirects or [],
            "status": status, "fetched_at": fetched_at.isoformat(), "sha256": sha, "bytes": len(body),
            "body_ref": body_rel.as_posix(), "screenshot_ref": shot_rel.as_posix() if shot_rel else None,
            "headers": kept, "via_proxy": proxy,
        })
        self.responses += 1
        self.bytes += len(body)
        return Evidence(url=url, fetched_at=fetched_at, status=status, sha256=sha,
                        snapshot_ref=body_rel.as_posix(),
                        screenshot_ref=shot_rel.as_posix() if shot_rel else None, run_id=run_id)

    def record_rendered_screenshot(self, png: bytes, *, key: str, body_sha256: str | None) -> str:
        """A PNG rendered offline from an archived snapshot (crawlers/rendered_screenshots.py); returns its ref."""
        sha = hashlib.sha256(png).hexdigest()
        rel = (self.rel_dir / RENDERED_DIR / f"{sha}.png").as_posix()
        self._queue.put((self.root / rel, png, None))
        self.write_line({"kind": "rendered_screenshot", "key": key, "body_sha256": body_sha256, "sha256": sha,
                         "bytes": len(png), "screenshot_ref": rel, "label": RENDERED_LABEL,
                         "rendered_at": utcnow().isoformat()})
        return rel

    def record_listing(self, key: str, evidence: Evidence, content_hash: str, outcome: str) -> None:
        """Links a stored listing to the response it came from (outcome: new|changed|unchanged|removed)."""
        self.write_line({"kind": "listing", "key": key, "url": evidence.url, "sha256": evidence.sha256,
                         "body_ref": evidence.snapshot_ref, "content_hash": content_hash, "outcome": outcome,
                         "at": utcnow().isoformat()})

    def record_event(self, kind: str, **data: Any) -> None:
        self.write_line({"kind": kind, "at": utcnow().isoformat(), **data})

    def write_line(self, obj: dict) -> None:
        """Serialised on the writer thread: callers hand over a dict they no longer touch."""
        self._queue.put(obj)

    def close(self) -> None:
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        if not self._manifest.closed:
            self._manifest.close()


def resolve_ref(root: Path, ref: str | None) -> Path | None:
    """The file an evidence ref names under the archive `root` (evidence_root(data_dir)), or None.

    Refs are the paths this archive writes (`<site>/<run_id>/…`, relative to the root) and they come back
    from stores that scraped content shares: absolute paths, `..`, empty parts, backslashes, NUL bytes and
    anything that leaves the root after resolving symlinks are refused, as is anything but a regular file.
    """
    if not ref or "\x00" in ref or "\\" in ref or len(ref) > 1024:
        return None
    pure = PurePosixPath(ref)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts):
        return None
    try:
        base = Path(root).resolve()
        path = (base / pure).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def read_body(root: Path, ref: str) -> bytes:
    """The archived body for a snapshot_ref, verified against the SHA-256 in its file name."""
    path = resolve_ref(root, ref)
    if path is None:
        raise ValueError(f"evidence ref {ref!r} is missing or escapes the archive")
    body = gzip.decompress(path.read_bytes())
    if hashlib.sha256(body).hexdigest() != path.name.removesuffix(".gz"):
        raise ValueError(f"evidence {ref} does not match its SHA-256")
    return body


def read_manifest(path: Path):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:   # a crash mid-line: everything before it is intact
                    continue
