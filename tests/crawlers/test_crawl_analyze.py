"""The crawl's analysis child (crawlers/pipelines.py AnalyzeStage): ready before the crawl starts, replaced when it
dies, and listings are never lost on the way."""
from __future__ import annotations

from crawlers.pipelines import AnalyzeStage
from index.models import Listing

OFFER = Listing(platform="shop", title="Fentanyl citrate powder 99% pure, stealth shipping",
                description="Wickr only. Bitcoin accepted. 10g minimum.")
BENIGN = Listing(platform="shop", title="Ceramic teapot, 1 litre", description="Hand glazed, dishwasher safe.")


def _stage() -> AnalyzeStage:
    return AnalyzeStage(ctx=None, enabled=True, in_process=True)


def test_child_reports_ready_then_analyzes_in_order():
    stage = _stage()
    try:
        assert stage.start() is None
        out, err = stage([OFFER, BENIGN])
        assert err is None
        assert [l.title for l in out] == [OFFER.title, BENIGN.title]
        assert out[0].analysis.flagged and "fentanyl" in {h.canonical.lower() for h in out[0].analysis.substances}
        assert not out[1].analysis.flagged and not out[1].analysis.substances
    finally:
        stage.worker.close()


def test_child_killed_during_start_up_is_reported_and_replaced():
    stage = _stage()
    try:
        stage.worker.proc.kill()
        stage.worker.proc.wait()
        err = stage.start()
        assert err and "did not start" in err
        out, err = stage([OFFER])         # the next batch gets a fresh child
        assert err is None and out[0].analysis.flagged
    finally:
        stage.worker.close()


def test_child_killed_between_batches_is_replaced():
    """An OOM kill mid-crawl: the next batch starts a fresh child instead of failing every batch after it."""
    stage = _stage()
    try:
        assert stage.start() is None
        dead = stage.worker
        dead.proc.kill()
        dead.proc.wait()
        out, err = stage([OFFER, BENIGN])
        assert stage.worker is not dead
        assert err is None and out[0].analysis.flagged and not out[1].analysis.flagged
    finally:
        stage.worker.close()
