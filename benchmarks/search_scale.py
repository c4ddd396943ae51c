"""Search and indexing at scale: both backends, the same realistic corpus, the investigator's query mix.

    [INTERDICT_ES_URL=http://127.0.0.1:9200] .venv/bin/python benchmarks/search_scale.py [--n 1000000]
        [--es-n N] [--reps 20] [--keep DIR]

Generates --n listings (12 platforms, 20k vendors, a year of first-seen dates, ~855-character descriptions
mixing English, Cyrillic, Chinese, numbers like "99.5%" and the odd emoji) with the project's models, and
indexes them through the store API (ListingStore.upsert) in two stages: the first tenth, then the rest. After
each stage it runs the mix below --reps times per backend and prints p50/p95/p99 per query, so the last
column, p95 at N over p95 at N/10, is the cost growth over a tenfold corpus (goal <= 3). Also printed: docs/s
of each stage, peak RSS of this process, bytes on disk (SQLite: the file and its WAL; ES: store.size of the
indices), and a sampled equality check: every query's total and facets, and the first page's keys, must be
identical on both backends. ES searches run with the request cache off (uncached figures).
Goals at 1M (SQLite): every query p95 <= 150 ms, dashboard <= 300 ms, growth <= 3x, >= 10,000 docs/s,
<= 2 GB on disk. ES: p95 <= 50 ms per query. --es-n (default: --n) indexes fewer listings into ES when the
shared cluster is too slow for the full corpus; the equality check then runs at the smaller size only.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.models import Analysis, Listing, Signal, SubstanceHit  # noqa: E402
from index.store import SearchQuery  # noqa: E402

SUBSTANCES = [("fentanyl", "opioid"), ("carfentanil", "opioid"), ("heroin", "opioid"), ("oxycodone", "opioid"),
              ("cocaine", "stimulant"), ("amphetamine", "stimulant"), ("3-mmc", "stimulant"),
              ("mdma", "entactogen"), ("lsd", "psychedelic"), ("ketamine", "dissociative"),
              ("alprazolam", "benzodiazepine"), ("bmk", "precursor"), ("gbl", "depressant")]
WORDS = ("pure crystal powder pills stealth shipping tested bulk escrow fast worldwide lab grade reliable vendor "
         "discount sample europe tracked vacuum sealed quality research chemical reagent wholesale price order "
         "payment crypto delivery discreet package guarantee reship customs free express batch certificate "
         "analysis purity high strength new stock available contact today offer best").split()
FOREIGN = ("качество доставка чистый оптом 高纯度 现货 供应 快递 calidad envío pureza 99.5% 1,000g "
           "don't e.g. a_b 🚀 💊").split()
PLATFORMS = [f"market{i:02d}" for i in range(12)]
DAY = 86_400
T_END = datetime(2026, 12, 1, tzinfo=timezone.utc)


def corpus(n: int, seed: int = 12) -> Iterator[Listing]:
    """N listings, deterministic: the same seed yields the same listings for both backends."""
    rnd = random.Random(seed)
    for i in range(n):
        subs = rnd.sample(SUBSTANCES, rnd.choice((0, 0, 1, 1, 1, 2)))
        names = [c for c, _ in subs]
        title = " ".join([*names, *rnd.choices(WORDS, k=6)])
        words = rnd.choices(WORDS, k=115)
        for c in names:
            words.insert(rnd.randrange(len(words)), c)
        for _ in range(rnd.randint(0, 4)):
            words.insert(rnd.randrange(len(words)), rnd.choice(FOREIGN))
        description = " ".join(words)[:855]
        risk = min(100, rnd.randint(0, 40) + 30 * len(subs))
        signals = []
        if rnd.random() < 0.3:
            signals.append(Signal(type="telegram", value=f"@v{rnd.randint(1, 5000)}", field="description",
                                  start=0, end=1))
        if rnd.random() < 0.1:
            signals.append(Signal(type="btc", value=f"bc1q{rnd.randint(1, 20000):06d}xyz", field="description",
                                  start=0, end=1))
        yield Listing(
            platform=PLATFORMS[i % 12], listing_id=f"L{i}", url=f"http://{PLATFORMS[i % 12]}.test/item/L{i}",
            title=title, description=description, vendor=f"vendor{rnd.randint(1, 20000)}",
            price=round(rnd.uniform(5, 2000), 2), currency="USD",
            fetched_at=T_END - timedelta(seconds=rnd.randint(0, 365 * DAY)),
            analysis=Analysis(flagged=risk >= 50, risk=risk, listing_type="substance_offer" if subs else "other",
                              substances=[SubstanceHit(canonical=c, **{"class": k}, matched=c, field="description",
                                                       start=0, end=len(c)) for c, k in subs],
                              signals=signals))


def _q(text: str = "", **kw) -> SearchQuery:
    return SearchQuery(text=text, **kw)


# The investigator mix: searched as the CLI and /search do (size 20, facets, highlights, by risk).
MIX: dict[str, SearchQuery] = {
    "word fentanyl": _q("fentanyl"),
    'phrase "stealth shipping"': _q('"stealth shipping"'),
    "field class:opioid": _q("class:opioid"),
    "bool class:opioid AND risk:>=70": _q("class:opioid AND risk:>=70"),
    "range price:[100 TO 500]": _q("price:[100 TO 500]"),
    "prefix carfent*": _q("carfent*"),
    "entity telegram:@v77": _q("telegram:@v77"),
    "facets flagged overview": _q(flagged=True, size=0, highlight=False),
}
DAILY = SearchQuery(flagged=True, facets=False, highlight=False)


def dashboard(store, today: date) -> None:
    """What the dashboard asks the store (interdict/web/services/dashboard.py)."""
    store.search(SearchQuery(size=0, facets=True, highlight=False))
    store.search(SearchQuery(flagged=True, size=0, facets=True, highlight=False))
    store.daily_counts(DAILY, "class", 30, today)
    store.daily_counts(DAILY, "platform", 30, today)


def timings(fn: Callable[[], object], reps: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of this thread per call. SQLite runs in this thread, so its CPU time is
    what an idle machine would show; on a shared, busy one the wall time swings with the neighbours."""
    wall, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    return wall, cpu


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_mix(store, reps: int) -> dict[str, tuple[list[float], list[float]]]:
    today = T_END.date()
    out = {name: timings(lambda q=q: store.search(q), reps) for name, q in MIX.items()}
    out["daily_counts by class"] = timings(lambda: store.daily_counts(DAILY, "class", 30, today), reps)
    out["dashboard (4 calls)"] = timings(lambda: dashboard(store, today), max(3, reps // 4))
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(store, listings: Iterator[Listing]) -> tuple[int, float, float]:
    """(new listings, wall s, CPU s of this process): generating the listings is outside both."""
    batch = list(listings)
    t, c = time.perf_counter(), time.process_time()
    report = store.upsert(batch)
    store.refresh()
    took, cpu = time.perf_counter() - t, time.process_time() - c
    assert not report.errors, report.errors[:3]
    return report.new, took, cpu


def disk_bytes(store) -> int:
    if store.backend == "sqlite":
        return store.status()["size_bytes"]
    store.es.indices.forcemerge(index=f"{store.prefix}-*", max_num_segments=1, wait_for_completion=True)
    stats = store.es.indices.stats(index=f"{store.prefix}-*", metric="store")
    return stats["_all"]["primaries"]["store"]["size_in_bytes"]


def report(name: str, stages: list) -> None:
    (n0, first), (n1, last) = stages[0], stages[-1]
    print(f"\n{name}: wall ms at {n1:,} listings (CPU ms of this thread: the client's share on ES); "
          f"growth = p95 at {n1:,} / p95 at {n0:,}")
    print(f"  {'query':36} {'p50':>8} {'p95':>8} {'p99':>8} {'growth':>7} {'cpu p95':>8} {'growth':>7}")
    for q, (wall, cpu) in last.items():
        growth = pct(wall, 95) / max(pct(first[q][0], 95), 1e-3)
        cpu_growth = pct(cpu, 95) / max(pct(first[q][1], 95), 1e-3)
        print(f"  {q:36} {pct(wall, 50):8.1f} {pct(wall, 95):8.1f} {pct(wall, 99):8.1f} {growth:6.1f}x "
              f"{pct(cpu, 95):8.1f} {cpu_growth:6.1f}x")


def signature(store, q: SearchQuery):
    res = store.search(q.model_copy(update={"highlight": False}))
    return res.total, res.facets, [h.item.key for h in res.hits]


def equal_check(a, b, rnd: random.Random, samples: int) -> int:
    """Sampled queries: the mix plus random words, classes, platforms and ranges; both backends must agree."""
    queries = list(MIX.values())
    for _ in range(samples):
        queries.append(_q(f"{rnd.choice(WORDS)} AND class:{rnd.choice(SUBSTANCES)[1]} "
                          f"AND risk:[{rnd.randint(0, 60)} TO 100] AND NOT platform:{rnd.choice(PLATFORMS)}"))
        lo = rnd.randint(5, 1500)
        queries.append(_q(f'"{rnd.choice(WORDS)} {rnd.choice(WORDS)}" OR price:[{lo} TO {lo + 50}]', sort="recent"))
    for q in queries:
        sa, sb = signature(a, q), signature(b, q)
        assert sa == sb, f"backends disagree on {q.text!r}: {sa[0]} vs {sb[0]} hits"
    return len(queries)


def bench(store, n: int, reps: int, label: str):
    stages = []
    source = corpus(n)
    for size in (n // 10, n):
        new = took = cpu = 0
        need = size - (stages[-1][0] if stages else 0)
        while need > new:                       # stream: at most 50k listings in memory
            a, b, c = load(store, islice(source, min(50_000, need - new)))
            new, took, cpu = new + a, took + b, cpu + c
        print(f"{label}: indexed {new:,} listings in {took:.1f} s: {new / took:,.0f} docs/s wall, "
              f"{new / cpu:,.0f} per CPU-second of this process (store at {size:,}); peak RSS {rss_mb():,.0f} MB",
              flush=True)
        for q in MIX.values():          # warm the page cache / caches the way a running service has them
            store.search(q)
        stages.append((size, run_mix(store, reps)))
    size = disk_bytes(store)
    print(f"{label}: {size / 1e9:.2f} GB on disk at {n:,} listings ({size / n:,.0f} bytes/listing)")
    report(label, stages)
    return stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--es-n", type=int, default=None, help="listings for Elasticsearch (default: --n)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--samples", type=int, default=25, help="random query pairs in the equality check")
    ap.add_argument("--keep", type=Path, default=None, help="keep the SQLite file in this directory")
    args = ap.parse_args()
    from index.sqlite_store import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        path = (args.keep or Path(tmp)) / f"search-scale-{args.n}.db"
        path.unlink(missing_ok=True)
        with SqliteStore(path) as sqlite:
            bench(sqlite, args.n, args.reps, "SQLite")
            url = os.environ.get("INTERDICT_ES_URL")
            if not url:
                print("\nINTERDICT_ES_URL not set: Elasticsearch skipped")
                return
            from index.es_store import ElasticsearchStore
            es_n = args.es_n or args.n
            es = ElasticsearchStore(url, prefix=f"scale-{uuid.uuid4().hex[:8]}", refresh_after_upsert=False,
                                    request_cache=False)
            try:
                es.init()
                bench(es, es_n, args.reps, "Elasticsearch")
                if es_n != args.n:      # compare like with like: a SQLite store of the same listings
                    with SqliteStore(Path(tmp) / "equal.db") as small:
                        load(small, corpus(es_n))
                        checked = equal_check(small, es, random.Random(5), args.samples)
                else:
                    checked = equal_check(sqlite, es, random.Random(5), args.samples)
                print(f"\nequality: {checked} queries, identical totals, facets and first pages on both backends "
                      f"at {es_n:,} listings")
            finally:
                es.drop()
                es.close()


if __name__ == "__main__":
    main()
