"""Review updates, the hash-chained audit and crawl runs on the search engines.

A review update and its audit event are two writes (the engines have no transactions): the update is
guarded by if_seq_no/if_primary_term, then the event appended. Low-volume indices (audit, runs) are
refreshed when read, so a decision shows at once.
"""
from __future__ import annotations

import threading
from typing import Any

from index.es_documents import doc_id
from index.es_errors import translate_errors
from index.models import AuditEvent, CrawlRun, Review, StoredListing
from index.review_workflow import check_lease, new_review, review_audit_data
from index.search_client import Engine
from index.store import ConflictError, NotFound, StoreError


class ReviewAndAudit:
    """The ElasticsearchStore's review, audit and run records (a mixin: the store owns client and aliases)."""
    es: Any
    engine: Engine
    write_alias: str
    _audit_lock: threading.Lock
    _audit_head: tuple[int, str] | None

    @translate_errors
    def update_review(self, key: str, to_status: str, *, token: str, actor: str,
                      reason: str | None = None, legal_basis: str | None = None,
                      lease_seconds: int | None = None, action: str = "review",
                      data: dict | None = None) -> StoredListing:
        """Optimistic concurrency on ES primitives: the write carries if_seq_no/if_primary_term of the
        document read here; the token's review revision decides whether the caller saw the current review
        (a crawl bumping last_seen moves seq_no but must not invalidate a reviewer's token)."""
        EsConflict, NotFoundError = self.engine.conflict, self.engine.not_found
        self._ensure()
        try:
            token_rev = int(token.rsplit(":", 1)[-1])
        except ValueError:
            raise ConflictError(f"invalid token for {key}; reload the listing") from None
        for _ in range(10):
            try:
                doc = self.es.get(index=self.write_alias, id=doc_id(key))
            except NotFoundError:
                raise NotFound(f"no listing {key!r}") from None
            src = doc["_source"]
            if src.get("review_rev", 0) != token_rev:
                raise ConflictError(f"listing {key} was changed by someone else since you loaded it; reload it")
            current = Review.model_validate(src.get("review") or {})
            check_lease(current, to_status, actor)
            review = new_review(current, to_status, actor=actor, reason=reason, legal_basis=legal_basis,
                                lease_seconds=lease_seconds)
            src.update({"review": review.model_dump(mode="json"), "status": review.status,
                        "assignee": review.assignee, "review_rev": token_rev + 1})
            try:
                self.es.index(index=self.write_alias, id=doc_id(key), document=src,
                              if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"])
            except EsConflict:
                continue            # someone wrote in between: re-read; a review change there is a conflict
            evidence = src["listing"].get("evidence") or {}
            self.append_audit(AuditEvent(
                actor=actor, action=action, key=key, tenant=src["listing"].get("tenant"),
                from_status=current.status, to_status=review.status, reason=reason,
                data=review_audit_data(review, legal_basis, evidence.get("sha256"),
                                       evidence.get("snapshot_ref"), data)))
            return self.get(key)
        raise ConflictError(f"listing {key} keeps changing; try again")


    @translate_errors
    def append_audit(self, event: AuditEvent) -> AuditEvent:
        """Hash-chained append: _id = seq with op_type=create, so two writers can never take the same seq;
        the loser reads the winner's event (a realtime GET) and chains after it."""
        EsConflict = self.engine.conflict
        self._ensure()
        alias = self._alias("audit")
        with self._audit_lock:
            if self._audit_head is None:
                self._audit_head = self._load_audit_head()
            for _ in range(1000):
                seq, prev = self._audit_head
                ev = event.model_copy(update={"seq": seq + 1, "prev_hash": prev, "hash": ""})
                ev.hash = ev.compute_hash()
                try:
                    self.es.create(index=alias, id=str(ev.seq), document=ev.model_dump(mode="json"))
                except EsConflict:
                    got = self.es.get(index=alias, id=str(seq + 1))
                    self._audit_head = (seq + 1, got["_source"]["hash"])
                    continue
                self._audit_head = (ev.seq, ev.hash)
                return ev
        raise StoreError("could not append to the audit chain (too much contention)")

    def _load_audit_head(self) -> tuple[int, str]:
        NotFoundError = self.engine.not_found
        alias = self._alias("audit")
        self.es.indices.refresh(index=alias)
        hits = self.es.search(index=alias, size=1, sort=[{"seq": "desc"}], source=["seq", "hash"])["hits"]["hits"]
        seq, h = (hits[0]["_source"]["seq"], hits[0]["_source"]["hash"]) if hits else (0, "")
        while True:         # events written after the refresh: walk forward with realtime GETs
            try:
                got = self.es.get(index=alias, id=str(seq + 1), source=["hash"])
            except NotFoundError:
                return seq, h
            seq, h = seq + 1, got["_source"]["hash"]

    @translate_errors
    def audit(self, key: str | None = None, limit: int = 1000, after: int = 0) -> list[AuditEvent]:
        """Audit events with seq > `after`, oldest first, optionally for one listing."""
        self._ensure()
        alias = self._alias("audit")
        self.es.indices.refresh(index=alias)
        filters: list[dict] = [{"range": {"seq": {"gt": after}}}]
        if key is not None:
            filters.append({"term": {"key": key}})
        out: list[AuditEvent] = []
        search_after = None
        while len(out) < limit:
            body: dict[str, Any] = {"query": {"bool": {"filter": filters}}, "sort": [{"seq": "asc"}],
                                    "size": min(1000, limit - len(out))}
            if search_after:
                body["search_after"] = search_after
            hits = self.es.search(index=alias, **body)["hits"]["hits"]
            out.extend(AuditEvent.model_validate(h["_source"]) for h in hits)
            if len(hits) < body["size"]:
                break
            search_after = hits[-1]["sort"]
        return out

    @translate_errors
    def record_run(self, run: CrawlRun) -> None:
        self._ensure()
        doc = run.model_dump(mode="json")
        self.es.index(index=self._alias("runs"), id=run.id, document=doc)

    @translate_errors
    def get_run(self, run_id: str) -> CrawlRun | None:
        NotFoundError = self.engine.not_found
        try:
            return CrawlRun.model_validate(self.es.get(index=self._alias("runs"), id=run_id)["_source"])
        except NotFoundError:
            return None

    @translate_errors
    def list_runs(self, site_id: str | None = None, limit: int = 50) -> list[CrawlRun]:
        self._ensure()
        alias = self._alias("runs")
        self.es.indices.refresh(index=alias)
        query = {"term": {"site_id": site_id}} if site_id else {"match_all": {}}
        hits = self.es.search(index=alias, query=query, size=limit,
                              sort=[{"started_at": "desc"}, {"id": "desc"}])["hits"]["hits"]
        return [CrawlRun.model_validate(h["_source"]) for h in hits]
