"""The analysis child of a crawl (`python -m crawlers.analyze_worker`): JSON lines of listings in, analyzed out.

Its own small module so the child imports only the nlp pipeline and the listing model, not the crawler (Scrapy,
site config, archive): less start-up CPU taken from the crawl it runs beside.
"""
from __future__ import annotations

_ANALYZERS: dict[str, object] = {}
READY = '{"ready": true}'


def shared_analyzer(policy: dict | None = None):
    """One nlp Analyzer per process and flagging policy (a site's overrides of nlp/scoring.yaml):
    building the spaCy pipeline is the expensive part, analyzing is not."""
    import json
    key = json.dumps(policy or {}, sort_keys=True)
    if key not in _ANALYZERS:
        from nlp.analyze import Analyzer
        from nlp.pipeline import build_nlp
        _ANALYZERS[key] = Analyzer(build_nlp(policy=policy)) if policy else Analyzer()
    return _ANALYZERS[key]


def main() -> None:
    """Read batches of [title, description] pairs (all the analyzer reads) from stdin, write their analyses
    (Analysis as JSON, same order) to stdout: the listings themselves never cross the pipe twice.
    Signals are the parent's business. argv[1], if given, is the site's flagging policy as JSON."""
    import json
    import signal
    import sys
    from pydantic import TypeAdapter
    from index.models import Analysis, Listing
    analyses = TypeAdapter(list[Analysis])      # serialised in pydantic-core: ~6x faster than model_dump + json
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    analyzer = shared_analyzer(json.loads(sys.argv[1]) if len(sys.argv) > 1 else None)
    sys.stdout.write(READY + "\n")      # the parent opens the crawl once the pipeline is built
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            batch = [Listing(platform="-", title=t, description=d) for t, d in json.loads(line)]
            out = analyses.dump_json([l.analysis for l in analyzer.analyze_listings(batch)], by_alias=True)
            out = out.decode("utf-8")
        except Exception as exc:
            out = json.dumps({"error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False)
        sys.stdout.write(out + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
