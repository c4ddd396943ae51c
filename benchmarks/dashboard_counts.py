"""Dashboard per-day charts: ListingStore.daily_counts against the scan it replaced, same store, same run.

    [INTERDICT_ES_URL=http://127.0.0.1:9200] .venv/bin/python benchmarks/dashboard_counts.py [--n 100000]

(a) baseline, what the dashboard did before: iter_listings(flagged, last_seen in the last 30 days), every
    listing parsed into a StoredListing, then counted per first-seen day by class and by platform in Python;
(b) daily_counts(flagged, "class") + daily_counts(flagged, "platform"): one GROUP BY / one aggregation each.
Both must give the same series (checked). --n listings first seen over the last --history days (default 365),
half of them flagged, 80% seen again by a recrawl two days ago (so their last_seen is in the window, as in a
monitored deployment). Printed per backend: (a) and (b) in the first round (cold: right after a refresh, as
on a crawling cluster, which refreshes every second and so empties ES's request cache) and the best round,
their ratios, and the Python heap peak each needed (tracemalloc, a separate pass).
Goal: (a)/(b) >= 10 at 100,000 listings, cold; (b)'s heap does not grow with the number of listings.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.models import Analysis, Listing, SubstanceHit  # noqa: E402
from index.store import SearchQuery  # noqa: E402

SUBSTANCES = [("fentanyl", "opioid"), ("heroin", "opioid"), ("cocaine", "stimulant"), ("3-mmc", "stimulant"),
              ("mdma", "entactogen"), ("lsd", "psychedelic"), ("ketamine", "dissociative"), ("bmk", "precursor")]
WORDS = "pure crystal powder pills stealth shipping tested bulk escrow fast worldwide lab grade".split()


def listings(n: int, history: int, seed: int = 3) -> Iterator[Listing]:
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)
    for i in range(n):
        subs = rnd.sample(SUBSTANCES, rnd.randint(0, 2))
        yield Listing(platform=f"market{i % 12}", listing_id=f"L{i}", url=f"http://m.test/L{i}",
                      title=" ".join(rnd.choices(WORDS, k=6)), description=" ".join(rnd.choices(WORDS, k=40)),
                      vendor=f"vendor{rnd.randint(1, 500)}", price=round(rnd.uniform(5, 500), 2), currency="USD",
                      fetched_at=now - timedelta(seconds=rnd.randint(0, history * 86400)),
                      analysis=Analysis(flagged=rnd.random() < 0.5, risk=rnd.randint(0, 100), substances=[
                          SubstanceHit(canonical=c, **{"class": k}, matched=c, field="title", start=0, end=len(c))
                          for c, k in subs]))


def scan(store, days: int, today: date) -> tuple[list[date], dict[str, list[int]], dict[str, list[int]]]:
    """The baseline: the dashboard's former code path (read every flagged listing of the period)."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    axis = [today - timedelta(days=days - 1 - i) for i in range(days)]
    where = {d: i for i, d in enumerate(axis)}
    by_class: dict[str, list[int]] = {}
    by_platform: dict[str, list[int]] = {}
    items = list(store.iter_listings(SearchQuery(flagged=True, date_from=since, facets=False, highlight=False)))
    for item in items:
        i = where.get(item.first_seen.date())
        if i is None:
            continue
        by_platform.setdefault(item.listing.platform, [0] * days)[i] += 1
        for k in sorted({h.cls for h in item.listing.analysis.substances}) or ["unknown"]:
            by_class.setdefault(k, [0] * days)[i] += 1
    return axis, dict(sorted(by_class.items())), dict(sorted(by_platform.items()))


def counted(store, days: int, today: date):
    q = SearchQuery(flagged=True, facets=False, highlight=False)
    axis, by_class = store.daily_counts(q, "class", days, today)
    _, by_platform = store.daily_counts(q, "platform", days, today)
    return axis, by_class, by_platform


def timed(fn, rounds: int) -> tuple[float, float, object]:
    """(first round, best round, result): the first is cold (ES's shard request cache caches size-0
    aggregations until the next refresh, which a crawling cluster does every second)."""
    times, out = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times[0], min(times), out


def heap_peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(name: str, store, n: int, history: int, days: int, rounds: int) -> None:
    t = time.perf_counter()
    report = store.upsert(listings(n, history))
    # a recrawl this week saw 4 in 5 listings still online: their last_seen is recent, first_seen is not
    store.mark_seen((f"market{i % 12}:L{i}" for i in range(n) if i % 5),
                    datetime.now(timezone.utc) - timedelta(days=2))
    store.refresh()
    print(f"{name}: loaded {report.new} listings over {history} days, recrawled 80%, "
          f"in {time.perf_counter() - t:.1f} s")
    today = datetime.now(timezone.utc).date()
    store.refresh()                      # a cold request cache for the first round of each
    ca, ta, a = timed(lambda: scan(store, days, today), rounds)
    store.refresh()
    cb, tb, b = timed(lambda: counted(store, days, today), rounds)
    assert a == b, f"{name}: daily_counts differs from the scan"
    in_window = sum(map(sum, b[2].values()))
    ma, mb = heap_peak(lambda: scan(store, days, today)), heap_peak(lambda: counted(store, days, today))
    print(f"{name}: {in_window} flagged listings first seen in the last {days} days")
    print(f"{name}: (a) scan {ca * 1000:.0f} ms first, {ta * 1000:.0f} ms best, heap peak {ma / 1e6:.1f} MB")
    print(f"{name}: (b) daily_counts {cb * 1000:.1f} ms first, {tb * 1000:.1f} ms best, heap peak {mb / 1e6:.2f} MB")
    print(f"{name}: (a)/(b) = {ca / cb:.0f}x first, {ta / tb:.0f}x best, {ma / max(mb, 1):.0f}x heap peak")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--history", type=int, default=365)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from index.sqlite_store import SqliteStore
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.db")
        try:
            run("sqlite", store, args.n, args.history, args.days, args.rounds)
        finally:
            store.close()
    url = os.environ.get("INTERDICT_ES_URL")
    if not url:
        print("elasticsearch: skipped (set INTERDICT_ES_URL)")
        return
    from index.es_store import ElasticsearchStore
    store = ElasticsearchStore(url, prefix=f"bench-{uuid.uuid4().hex[:8]}")
    store.init()
    try:
        run("elasticsearch", store, args.n, args.history, args.days, args.rounds)
    finally:
        store.drop()
        store.close()


if __name__ == "__main__":
    main()
