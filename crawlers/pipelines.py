"""Item pipelines: normalize -> (batch) analyze -> upsert -> evidence manifest.

Scrapy pipelines see one item at a time, but spaCy and the store are fast only in batches. So
`NormalizePipeline` works per item and `BatchPipeline` buffers listings and runs each full batch through the
stages `AnalyzeStage` -> `UpsertStage` on the store thread (never blocking downloads), then `EvidenceStage`
on the reactor (manifest lines, resume journal, counters). The item that fills a batch waits for it, which
gives back-pressure when analysis is slower than crawling; nothing else waits.
"""
from __future__ import annotations

import logging
import re

from pydantic import TypeAdapter

from crawlers.analyze_worker import READY, shared_analyzer
from crawlers.runstate import RunExtension
from index.models import Analysis, Listing

log = logging.getLogger(__name__)
_ANALYZES = TypeAdapter(list[Analysis])

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")     # in a str, only ever a lone one (pairs decode to one code point)
_LIMITS = {"title": 500, "description": 20_000, "vendor": 200, "currency": 8, "ships_from": 200,
           "ships_to": 500, "category": 200, "listing_id": 200}


def replace_surrogates(value, where: str, found: list[str]):
    """`value` with every lone surrogate replaced by U+FFFD, walking dicts and lists; `where` is appended to
    `found` for each string that had one. JSON allows them ("\\ud800" in a page's JSON-LD), but no UTF-8
    encoder does: the analyzer pipe, SQLite and the manifest writer would each fail the whole batch."""
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        found.append(where)
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {replace_surrogates(k, where, found): replace_surrogates(v, f"{where}.{k}", found)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [replace_surrogates(v, where, found) for v in value]
    return value


def _has_surrogate(value) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(map(_has_surrogate, value))
    return False


class NormalizePipeline:
    """Plain text only (no control characters, no lone surrogates), bounded lengths, the site's platform and
    tenant. A field that had to be repaired is an `encoding` error of the run naming the field; the listing
    is kept (the archived response holds the page as it came)."""

    def __init__(self, ctx: RunExtension):
        self.ctx = ctx

    @classmethod
    def from_crawler(cls, crawler):
        return cls(RunExtension.of(crawler))

    def process_item(self, item, spider=None):
        if not isinstance(item, Listing):
            return item
        update, found = {}, []
        for name in ("url", *_LIMITS):
            value = getattr(item, name)
            if isinstance(value, str) and _SURROGATE.search(value):
                update[name] = replace_surrogates(value, name, found)
        if _has_surrogate(item.raw):
            update["raw"] = replace_surrogates(item.raw, "raw", found)
        if found:
            self.ctx.error("encoding", item.url, "lone surrogates replaced by U+FFFD in " + ", ".join(found))
        for name, limit in _LIMITS.items():
            value = update.get(name, getattr(item, name))
            if isinstance(value, str):
                clean = _CONTROL.sub("", value).strip()[:limit]
                update[name] = clean or None if name not in ("title", "description") else clean
        if item.price is not None and (item.price < 0 or item.price > 1e12):
            update["price"] = None
        update["platform"] = self.ctx.site.id
        update["tenant"] = self.ctx.site.tenant
        return item.model_copy(update=update)


class AnalyzerProcess:
    """The nlp Analyzer in a child process (`python -m crawlers.analyze_worker`), one JSON line per batch each
    way. A child of its own (not multiprocessing) so nothing of the crawler is imported there."""

    def __init__(self, policy: dict | None = None):
        import json
        import subprocess
        import sys
        self.policy = policy
        self.proc = subprocess.Popen([sys.executable, "-m", "crawlers.analyze_worker"]
                                     + ([json.dumps(policy)] if policy else []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
                                     bufsize=1 << 16)
        self.ready = False

    def wait_ready(self) -> None:
        """Block until the child has built its pipeline (its first line), or raise if it died building it."""
        if self.ready:
            return
        line = self.proc.stdout.readline()
        if line.strip() != READY:
            raise RuntimeError(f"analysis process did not start (code {self.proc.poll()}): {line.strip()[:200]}")
        self.ready = True

    def analyze(self, batch: list[Listing]) -> list[Listing]:
        import json
        self.wait_ready()
        line = json.dumps([[l.title, l.description] for l in batch], ensure_ascii=False)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"analysis process exited (code {self.proc.poll()})")
        if reply.lstrip().startswith("{"):
            raise RuntimeError(json.loads(reply).get("error", "analysis failed"))
        data = _ANALYZES.validate_json(reply)     # parsed in pydantic-core: half the GIL time of json + validate
        if len(data) != len(batch):
            raise RuntimeError(f"analysis process answered {len(data)} analyses for {len(batch)} listings")
        return [l.model_copy(update={"analysis": a}) for l, a in zip(batch, data)]

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


class AnalyzeStage:
    """nlp: substances, signals, risk, in batches.

    By default the analyzer runs in its own process (setting analyze_process, env INTERDICT_ANALYZE_PROCESS):
    spaCy is CPU-bound Python and in a thread it would hold the GIL against the reactor, slowing downloads.
    The child builds its pipeline while the crawl starts. With INTERDICT_ANALYZE_PROCESS=0 it runs on the
    store thread instead.
    """

    def __init__(self, ctx: RunExtension, enabled: bool = True, in_process: bool = True, policy: dict | None = None):
        self.ctx = ctx
        self.enabled = enabled
        self.policy = policy or None         # the site's flagging-policy overrides (site YAML `policy`)
        self.worker = AnalyzerProcess(self.policy) if enabled and in_process else None

    @classmethod
    def from_crawler(cls, crawler):
        ctx = RunExtension.of(crawler)
        in_process = ctx.opts.settings.analyze_process
        stage = cls(ctx, crawler.settings.getbool("INTERDICT_ANALYZE", ctx.opts.analyze), in_process,
                    ctx.site.policy_overrides)
        from scrapy import signals
        crawler.signals.connect(stage.close, signal=signals.engine_stopped)
        return stage

    def start(self) -> str | None:
        """Wait (on the store thread) until the analysis child is ready, so the crawl starts with a warm
        pipeline: its start-up never competes with the first downloads, and a pipeline that cannot be built
        is reported before any page is fetched. The error, if any; batches then retry a fresh child."""
        if self.worker is None:
            return None
        try:
            self.worker.wait_ready()
            return None
        except Exception as exc:
            log.error("%s", exc)
            return f"{type(exc).__name__}: {exc}"

    def __call__(self, batch: list[Listing]) -> tuple[list[Listing], str | None]:
        if not self.enabled:
            return batch, None
        try:
            if self.worker is not None:
                if self.worker.proc.poll() is not None:
                    self.worker = AnalyzerProcess(self.policy)     # died (OOM, killed): a fresh one for the next batch
                return self.worker.analyze(batch), None
            return list(shared_analyzer(self.policy).analyze_listings(batch)), None
        except Exception as exc:   # never lose listings because analysis failed: store them unanalyzed
            log.exception("analysis failed for a batch of %d listings", len(batch))
            return batch, f"{type(exc).__name__}: {exc}"

    def close(self):
        """engine_stopped: the child exits on the store thread, after any batch still being analyzed there.
        Returns a Deferred, never waits on the reactor thread: the child takes a second or two to exit, and a
        reactor blocked that long fires Scrapy's 1 s disconnect timer on its download handler after the pool
        had already closed (a CRITICAL AlreadyCalledError in every crawl log)."""
        from twisted.internet import defer
        worker, self.worker = self.worker, None
        return self.ctx.defer(worker.close) if worker is not None else defer.succeed(None)


class UpsertStage:
    """Store the batch; the store decides new version vs last_seen bump by content hash."""

    def __init__(self, ctx: RunExtension):
        self.ctx = ctx

    @classmethod
    def from_crawler(cls, crawler):
        return cls(RunExtension.of(crawler))

    def __call__(self, batch: list[Listing]):
        return self.ctx.store.upsert(batch)


class EvidenceStage:
    """Links each stored listing to its archived response in the run manifest; commits the resume journal."""

    def __init__(self, ctx: RunExtension):
        self.ctx = ctx

    @classmethod
    def from_crawler(cls, crawler):
        return cls(RunExtension.of(crawler))

    def __call__(self, batch: list[Listing], report, analysis_error: str | None) -> None:
        ctx = self.ctx
        failed = {e.get("key") for e in report.errors}
        ctx.count("listings_new", report.new)
        ctx.count("listings_changed", report.changed)
        ctx.count("listings_unchanged", report.unchanged)
        if analysis_error:
            ctx.error("analyze", None, analysis_error)
        for e in report.errors:
            ctx.error("store", None, f"{e.get('key')}: {e.get('error')}")
        ok = [l for l in batch if l.key not in failed]
        for l in ok:
            ctx.count("flagged", int(l.analysis.flagged))
            ctx.count("substance_hits", len(l.analysis.substances))
            ctx.archive.record_listing(l.key, l.evidence, l.content_hash(), "stored")
        # Only pages whose every listing is stored count as done (inline pages hold many listings).
        pages_failed = {l.raw.get("page_url") for l in batch if l.key in failed}
        pages = sorted({l.raw.get("page_url") for l in ok if l.raw.get("page_url")} - pages_failed)
        ctx.commit(pages, [l.key for l in ok])


class BatchPipeline:
    def __init__(self, ctx: RunExtension, batch_size: int, analyze: AnalyzeStage, upsert: UpsertStage,
                 evidence: EvidenceStage):
        self.ctx = ctx
        self.batch_size = batch_size
        self.analyze, self.upsert, self.evidence = analyze, upsert, evidence
        self.buffer: list[Listing] = []
        self.pending: set = set()

    @classmethod
    def from_crawler(cls, crawler):
        ctx = RunExtension.of(crawler)
        return cls(ctx, crawler.settings.getint("INTERDICT_BATCH_SIZE", 50), AnalyzeStage.from_crawler(crawler),
                   UpsertStage.from_crawler(crawler), EvidenceStage.from_crawler(crawler))

    def open_spider(self, spider=None):
        """Scrapy waits for this Deferred before the engine starts: the crawl begins with the analyzer ready."""
        d = self.ctx.defer(self.analyze.start)
        d.addCallback(lambda err: err and self.ctx.error("analyze", None, err))
        return d

    def process_item(self, item, spider=None):
        if not isinstance(item, Listing):
            return item
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            d = self.flush()
            d.addCallback(lambda _: item)
            return d
        return item

    def _work(self, batch):
        analyzed, err = self.analyze(batch)
        self.ctx.archive.sync()      # the bodies these listings point at are on disk before the store has them
        report = self.upsert(analyzed)
        failed = {e.get("key") for e in report.errors}
        try:   # a confirmed takedown seen online again is still online (crawlers/verification.py)
            verified = self.ctx.verifier.seen_online(l.key for l in analyzed if l.key not in failed)
        except Exception as exc:     # never fails the batch: the listings are stored
            log.exception("takedown verification failed for a batch")
            verified = f"{type(exc).__name__}: {exc}"
        return analyzed, report, err, verified

    def flush(self):
        from twisted.internet import defer
        batch, self.buffer = self.buffer, []
        if not batch:
            return defer.succeed(None)
        d = self.ctx.defer(self._work, batch)

        def done(result):
            analyzed, report, err, verified = result
            self.evidence(analyzed, report, err)
            if isinstance(verified, str):
                self.ctx.error("verification", None, verified)
            else:
                self.ctx.record_verified(verified)
            self.ctx.report()

        def failed(f):
            # The store refused the whole batch: count it; the pages stay uncommitted, so a resume refetches.
            self.ctx.error("store", None, f"batch of {len(batch)} not stored: {f.value}")
            log.error("store failed for a batch of %d: %s", len(batch), f.value)

        d.addCallbacks(done, failed)
        self.pending.add(d)
        d.addBoth(lambda r: (self.pending.discard(d), r)[1])
        return d

    def close_spider(self, spider=None):
        from twisted.internet import defer
        self.flush()
        return defer.DeferredList(list(self.pending))
