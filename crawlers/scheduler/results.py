"""What a finished (or killed) crawl process left behind, read back into its run record: the JSON summary on
its stdout, the record it wrote to the store, its evidence manifest, the tail of its log. Every read is bounded
or streamed: a crawl's output is as large as the crawl."""
from __future__ import annotations

import json
import os
from pathlib import Path

from index.models import CrawlRun

_TAIL_BYTES = 64 * 1024


def read_summary(path: Path) -> dict:
    """The crawl's --json summary: the last JSON object on its stdout (bounded read)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL_BYTES))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return {}
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    return {}


def merge_results(run: CrawlRun, written: CrawlRun | None, summary: dict) -> CrawlRun:
    """Our record + what the crawl wrote (store) + its JSON summary. Trigger and start stay ours."""
    final = run.model_copy(deep=True)
    src = summary.get("run") if isinstance(summary.get("run"), dict) else summary
    counts = src.get("counts") if isinstance(src.get("counts"), dict) else {
        k: v for k, v in src.items() if isinstance(v, int) and not isinstance(v, bool) and k != "error_total"}
    errors = src.get("errors") if isinstance(src.get("errors"), dict) else {}
    final.counts = {k: int(v) for k, v in counts.items() if isinstance(v, (int, float))}
    final.errors = {k: int(v) for k, v in errors.items() if isinstance(v, (int, float))}
    for key in ("status", "error_summary", "manifest"):
        if isinstance(src.get(key), str):
            setattr(final, key, src[key])
    if isinstance(src.get("reason"), str) and src["reason"] != run.reason:
        final.reason = join_reasons(run.reason, src["reason"])
    if written is not None and written.status != "running":   # the crawl finished its own record
        final.counts = dict(written.counts) or final.counts
        final.errors = dict(written.errors) or final.errors
        final.status = written.status
        final.error_summary = written.error_summary or final.error_summary
        final.manifest = written.manifest or final.manifest
        final.reason = join_reasons(run.reason, written.reason) if written.reason != run.reason else run.reason
    elif written is not None:
        final.manifest = final.manifest or written.manifest
        if not final.counts:
            final.counts, final.errors = dict(written.counts), dict(written.errors)
    if final.status == "running":
        final.status = "unknown"
    return final


def counts_from_manifest(path: Path) -> dict:
    """What a crawl killed before writing its final record got done, from its evidence manifest (streamed):
    pages fetched, listings stored by outcome, errors by kind."""
    from collections import Counter

    from crawlers.archive import read_manifest
    counts, errors = Counter(), Counter()
    try:
        for entry in read_manifest(path):
            kind = entry.get("kind")
            if kind == "response":
                counts["pages"] += 1
            elif kind == "listing":
                counts["items"] += 1
                counts[f"listings_{entry.get('outcome', 'new')}"] += 1
            elif kind == "error":
                errors[str(entry.get("error"))] += 1
    except OSError:
        pass
    return {"counts": dict(counts), "errors": dict(errors)}


def tail_lines(path: Path | None, lines: int = 5) -> list[str]:
    """The last non-empty lines of a log (bounded read)."""
    if path is None:
        return []
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192 - 200 * lines))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]


def tail(path: Path, lines: int = 5, limit: int = 600) -> str:
    """The end of a crawl's log on one line, for an error summary."""
    return " | ".join(line.strip() for line in tail_lines(path, lines))[-limit:]


def join_reasons(*parts: str | None) -> str | None:
    parts = [p for p in parts if p]
    return "; ".join(parts) if parts else None
