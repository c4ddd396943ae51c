"""REST API of a listing's evidence: the archived page (inert, sandboxed), the screenshot, the bundle."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from index import review_workflow as review
from interdict.web import exports
from interdict.web.api_docs import PNG, SNAPSHOT, ZIP
from interdict.web.deps import CurrentUser, Settings, Store
from interdict.web.downloads import zip_attachment
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.evidence import EvidenceError, display_html, read_snapshot, resolve_ref

router = APIRouter(prefix="/api", tags=["evidence"], responses=ERROR_RESPONSES)

SNAPSHOT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'"


@router.get("/snapshot/{key:path}", response_class=Response, responses=SNAPSHOT,
            summary="The archived page, inert and sandboxed (strict CSP); ?raw=1 for the archived bytes as text")
def snapshot(key: str, store: Store, settings: Settings, me: CurrentUser, raw: str = ""):
    item = review.load(store, me, key)
    path = resolve_ref(settings.data_dir, item.listing.evidence.snapshot_ref)
    if path is None:
        raise review.ReviewError(404, "no archived snapshot for this listing")
    try:
        body, truncated = read_snapshot(path)
    except EvidenceError as exc:
        raise review.ReviewError(422, str(exc)) from exc
    as_text = raw == "1"
    # default: an inert display copy of the page; ?raw=1: the archived bytes as text (still sandboxed)
    text = body.decode("utf-8", errors="replace") if as_text else display_html(body)
    return Response(text.encode("utf-8"), media_type=f"text/{'plain' if as_text else 'html'}; charset=utf-8", headers={
        "Content-Security-Policy": SNAPSHOT_CSP, "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store",
        "X-Interdict-Truncated": "1" if truncated else "0"})


@router.get("/screenshot/{key:path}", response_class=Response, responses=PNG,
            summary="The archived screenshot (PNG)")
def screenshot(key: str, store: Store, settings: Settings, me: CurrentUser):
    item = review.load(store, me, key)
    path = resolve_ref(settings.data_dir, item.listing.evidence.screenshot_ref)
    if path is None:
        raise review.ReviewError(404, "no screenshot for this listing")
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise review.ReviewError(415, "screenshot is not a PNG")
    return Response(data, media_type="image/png", headers={
        "Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff"})


@router.get("/bundle/{key:path}", response_class=StreamingResponse, responses=ZIP,
            summary="Evidence bundle of one listing (zip + manifest)")
def bundle(key: str, store: Store, settings: Settings, me: CurrentUser):
    item = review.load(store, me, key)
    fh = exports.evidence_bundle([item], settings.data_dir, notifier_name=settings.notifier_name,
                                 notifier_email=settings.notifier_email)
    return zip_attachment(fh, f"evidence-{exports.safe_member(item.key, 40)}.zip")
