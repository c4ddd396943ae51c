"""Listing writes on the search engines: bulk upserts that never overwrite a reviewer's decision, lifecycle
marks and purges.

Writes go through the client's streaming_bulk (retry on 429/502/503/504, per-document error report) and use
op_type=create / if_seq_no+if_primary_term. Nothing is written with refresh=true: call refresh() (tests, end
of a crawl), or set es_refresh_after_upsert.
"""
from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime
from itertools import chain
from typing import Any, Iterable, Iterator

from pydantic_core import to_json

from index.documents import chunks, gc_paused, in_background, ms, report_key, unique_runs
from index.es_documents import BULK_ANSWER, Line, doc_id, document_bytes, expand, prepare, version_since
from index.es_errors import RETRY_STATUSES, item_error, translate_errors
from index.models import Listing, Review, UpsertReport
from index.search_client import Engine
from index.store import NotFound, StoreError


class ListingWrites:
    """The ElasticsearchStore's listing writes (a mixin: the store owns the client and the aliases)."""
    es: Any
    engine: Engine
    prefix: str
    write_alias: str
    chunk_size: int
    max_retries: int
    initial_backoff: float
    refresh_after_upsert: bool

    @translate_errors
    def upsert(self, listings: Iterable[Listing]) -> UpsertReport:
        """Stream listings into ES. A reader thread prepares and serialises the next batch while
        streaming_bulk waits on the cluster, so the store's extra work overlaps indexing; the thread that
        talks to ES only cuts chunks, sends them and counts the answers.

        Each batch either reads the stored versions first (mget) or, while batches keep turning out to be
        new listings (a first crawl, a bulk import), is sent as op_type=create straight away. Either way
        nothing is overwritten blindly: a create that meets an existing listing, or an index whose
        if_seq_no went stale, fails with 409 and is re-read and retried at the end, in order."""
        self._ensure()
        report = UpsertReport()
        tags: dict[str, deque] = defaultdict(deque)       # _id -> (outcome, prepared item), in send order
        creates = {"sent": 0, "conflicts": 0}              # optimistic creates since the last mget batch

        def batches() -> Iterator[list]:
            optimistic = False
            for batch in chunks(listings, self.chunk_size):
                prepared = []
                for listing in batch:
                    try:
                        prepared.append(prepare(listing))
                    except Exception as exc:  # noqa: BLE001 - reported per document, the rest goes on
                        report.errors.append({"key": report_key(listing), "error": str(exc)})
                for part in unique_runs(prepared):
                    if optimistic and creates["conflicts"] * 4 > creates["sent"]:
                        optimistic = False          # listings turn out to exist: read before writing again
                    if optimistic:
                        creates["sent"] += len(part)
                        yield self._actions(part, {}, tags)
                        continue
                    existing = self._mget_current([k for k, _, _ in part])
                    optimistic = len(existing) * 4 < len(part)
                    creates["sent"] = creates["conflicts"] = 0
                    yield self._actions(part, existing, tags)

        retry: list = []
        with gc_paused():
            lines = chain.from_iterable(in_background(batches(), maxsize=2))
            self._collect(self._bulk(lines, index=self.write_alias), tags, report, retry, creates)
        for attempt in range(4):            # lost races: re-read and retry, in the original order
            if not retry:
                break
            pending, retry = retry, []
            for part in unique_runs(pending):
                existing = self._mget_current([k for k, _, _ in part])
                self._collect(self._bulk(self._actions(part, existing, tags), index=self.write_alias), tags,
                              report, retry if attempt < 3 else None)
        if self.refresh_after_upsert:
            self.refresh()
        return report

    def _collect(self, results, tags: dict, report: UpsertReport, retry: list | None,
                 creates: dict | None = None) -> None:
        counts = {"new": 0, "changed": 0, "unchanged": 0}
        try:
            self._collect_into(results, tags, report, retry, counts, creates if creates is not None else {})
        finally:
            report.new += counts["new"]
            report.changed += counts["changed"]
            report.unchanged += counts["unchanged"]

    def _collect_into(self, results, tags: dict, report: UpsertReport, retry: list | None, counts: dict,
                      creates: dict) -> None:
        versions = f"{self.prefix}-versions"
        for ok, item in results:
            info = next(iter(item.values()))
            if info.get("_index", "").startswith(versions):
                if not ok:          # archiving the old version failed: the listing update still stands
                    report.errors.append({"key": info.get("_id"), "error": "archiving the old version: "
                                          + item_error(info)})
                continue
            queued = tags[info["_id"]]
            outcome, prepared = queued.popleft()
            if not queued:          # answered: forget it, or the client grows with every document loaded
                del tags[info["_id"]]
            if ok:
                counts[outcome] += 1
            elif info.get("status") == 409 and retry is not None:
                retry.append(prepared)
                if outcome == "new" and "conflicts" in creates:
                    creates["conflicts"] += 1
            else:
                report.errors.append({"key": prepared[0], "error": item_error(info)})

    def _actions(self, part: list, existing: dict[str, dict], tags: dict) -> list[tuple[bytes, bytes]]:
        """Serialised bulk lines (action, document) for distinct keys: create new listings; archive the old
        version and overwrite (guarded by if_seq_no/if_primary_term) changed ones; rewrite unchanged ones
        with the new analysis. Each listing's outcome is queued under its _id in `tags` before it is sent.
        Listing lines name no index: the request's default (the write alias) applies, a few bytes less per
        line to write and parse."""
        out: list[tuple[bytes, bytes]] = []
        versions = self._alias("versions")
        for item in part:
            key, listing, chash = item
            cur = existing.get(key)
            listing_json = to_json(listing)
            seen = ms(listing.fetched_at)
            _id = doc_id(key)
            if cur is None:
                tags[_id].append(("new", item))
                out.append((Line(b'{"create":{"_id":' + to_json(_id) + b"}}"),
                            document_bytes(key, listing, listing_json, None, chash, 1, seen, seen, seen, 0)))
                continue
            s = cur["_source"]
            review, rev = Review.model_validate(s.get("review") or {}), s.get("review_rev", 0)
            version, since = s["version"], version_since(s)
            outcome = "unchanged"
            if s["content_hash"] != chash:
                out.append((Line(to_json({"index": {"_index": versions, "_id": doc_id(f"{key}#{version}")}})),
                            to_json({"key": key, "version": version, "content_hash": s["content_hash"],
                                     "seen_at": since, "listing": s["listing"]})))
                version, since, outcome = version + 1, seen, "changed"
            src = document_bytes(key, listing, listing_json, review, chash, version, min(s["first_seen"], seen),
                          max(s["last_seen"], seen), since, rev)
            tags[_id].append((outcome, item))
            out.append((Line(to_json({"index": {"_id": _id, "if_seq_no": cur["_seq_no"],
                                                 "if_primary_term": cur["_primary_term"]}})), src))
        return out

    def _bulk(self, actions: Iterable, index: str | None = None) -> Iterator[tuple[bool, dict]]:
        """streaming_bulk over action dicts or pre-serialised (action, document) lines, `index` the default
        for lines that name none. The answer is trimmed to what the report reads (filter_path): less JSON
        to parse between two requests."""
        yield from self.engine.streaming_bulk(
            self.es, actions, chunk_size=self.chunk_size, max_retries=self.max_retries,
            initial_backoff=self.initial_backoff, retry_on_status=RETRY_STATUSES,
            raise_on_error=False, raise_on_exception=False, yield_ok=True,
            expand_action_callback=expand, filter_path=BULK_ANSWER, **({"index": index} if index else {}))

    def _mget_current(self, keys: list[str], source: list[str] | None = None) -> dict[str, dict]:
        if not keys:
            return {}
        key_of = {doc_id(k): k for k in keys}
        resp = self.es.mget(index=self.write_alias, ids=list(key_of), source=source or True)
        return {key_of[d["_id"]]: d for d in resp["docs"] if d.get("found")}

    @translate_errors
    def mark_seen(self, keys: Iterable[str], at: datetime) -> None:
        self._ensure()
        at_ms = ms(at)
        for part in chunks(keys, self.chunk_size):
            cur = self._mget_current(part, ["last_seen", "removed_at"])
            actions = [{"_op_type": "update", "_index": self.write_alias, "_id": doc_id(k),
                        "doc": {"last_seen": max(at_ms, d["_source"]["last_seen"]), "removed_at": None}}
                       for k, d in cur.items()
                       if d["_source"]["last_seen"] < at_ms or d["_source"].get("removed_at") is not None]
            for ok, item in self._bulk(actions):
                if not ok:
                    info = next(iter(item.values()))
                    if info.get("status") != 404:
                        raise StoreError(f"mark_seen failed for {info.get('_id')}: {item_error(info)}")

    @translate_errors
    def mark_removed(self, key: str, at: datetime) -> None:
        NotFoundError = self.engine.not_found
        self._ensure()
        try:
            self.es.update(index=self.write_alias, id=doc_id(key), doc={"removed_at": ms(at)}, retry_on_conflict=3)
        except NotFoundError:
            raise NotFound(f"no listing {key!r}") from None


    @translate_errors
    def purge(self, key: str) -> bool:
        NotFoundError = self.engine.not_found
        self._ensure()
        try:
            doc = self.es.get(index=self.write_alias, id=doc_id(key), source=["version"])
        except NotFoundError:
            return False
        ids = [doc_id(f"{key}#{v}") for v in range(1, doc["_source"]["version"])]
        for ok, item in self._bulk([{"_op_type": "delete", "_index": self._alias("versions"), "_id": i}
                                    for i in ids]):
            info = next(iter(item.values()))
            if not ok and info.get("status") != 404:
                raise StoreError(f"purge of {key} failed: {item_error(info)}")
        self.es.options(ignore_status=404).delete(index=self.write_alias, id=doc_id(key))
        return True
