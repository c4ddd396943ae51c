"""Crash-safe resume state of a crawl in <jobdir>/interdict/ (see crawlers/runstate.py for how a run uses it).

Scrapy's JOBDIR persists its queue and seen-set only on a graceful stop, so a killed run would come back with a
stale `requests.seen` that filters the index pages still to walk. This journal is the crash-safe part:
`state.json` (run id, counts) rewritten atomically after each committed batch, and `committed.log` (page URLs
and listing keys already in the store), flushed per batch and fsynced at the end of the run or a pause.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


class Journal:
    """Crash-safe resume state in <jobdir>/interdict/."""

    def __init__(self, jobdir: Path):
        self.dir = Path(jobdir) / "interdict"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "state.json"
        self.log_path = self.dir / "committed.log"
        self._log = None

    def load(self) -> dict | None:
        """The unfinished run this jobdir holds, or None (fresh start)."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if state.get("finished"):
            return None
        urls, keys = set(), set()
        if self.log_path.exists():
            with open(self.log_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except ValueError:     # torn last line of a killed process
                        continue
                    urls.update(entry.get("urls", []))
                    keys.update(entry.get("keys", []))
        state["committed_urls"], state["committed_keys"] = urls, keys
        return state

    def reset(self) -> None:
        for p in (self.state_path, self.log_path):
            p.unlink(missing_ok=True)

    def save_state(self, state: dict, durable: bool = False) -> None:
        """Atomic rewrite. A killed process loses nothing written to the OS, so per batch no fsync; the end
        of a run or a pause (`durable`) is fsynced."""
        tmp = self.state_path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(state, fh, default=str)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)

    def commit(self, urls: list[str], keys: list[str]) -> None:
        """Append and flush to the OS: that survives SIGKILL, which is what resume promises. No fsync per batch:
        the SQLite store itself commits with synchronous=NORMAL, so after a power loss fsyncing the journal
        could only claim batches the store lost; the run's end fsyncs it (`close`)."""
        if self._log is None:
            self._log = open(self.log_path, "a", encoding="utf-8")
        self._log.write(json.dumps({"urls": urls, "keys": keys}) + "\n")
        self._log.flush()

    def close(self) -> None:
        if self._log is not None:
            self._log.flush()
            os.fsync(self._log.fileno())
            self._log.close()
            self._log = None
