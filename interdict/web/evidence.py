"""Reading archived evidence safely: refs are paths relative to the data dir, and they are hostile input.

A ref resolves only to a regular file under <data_dir>/evidence/ (after resolving symlinks); absolute
paths, `..`, NUL bytes and anything escaping the archive are refused. Snapshots are gzip bodies; reading
one is bounded so a decompression bomb cannot exhaust memory.
"""
from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path, PurePosixPath

MAX_SNAPSHOT_BYTES = 20 * 1024 * 1024


class EvidenceError(Exception):
    pass


def resolve_ref(data_dir: Path, ref: str | None) -> Path | None:
    """The file a ref points to, or None when it is missing or not safely inside the evidence archive."""
    if not ref or "\x00" in ref or "\\" in ref or len(ref) > 1024:
        return None
    pure = PurePosixPath(ref)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts):
        return None
    root = (Path(data_dir) / "evidence").resolve()
    try:
        path = (Path(data_dir) / pure).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


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
