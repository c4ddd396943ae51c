"""REST API of takedown exports: a platform's notices (JSON or CSV) and their evidence bundle, of the
listings the caller may decide."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from interdict.web import exports
from interdict.web.api_docs import JSON_OR_CSV, ZIP
from interdict.web.deps import CurrentUser, Platform, Settings, Store, TakedownStatuses
from interdict.web.downloads import attachment, zip_attachment
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.services.takedowns import takedown_items

router = APIRouter(prefix="/api/exports", tags=["exports"], responses=ERROR_RESPONSES)


@router.get("/takedowns", response_class=StreamingResponse, responses=JSON_OR_CSV,
            summary="Takedown notices of one platform (JSON or CSV), mapped to DSA Art. 16 and a statement of reasons")
def takedowns(store: Store, settings: Settings, me: CurrentUser, platform: Platform = None,
              format: Literal["json", "csv"] = "json", status: TakedownStatuses = []):
    items = takedown_items(store, me, platform, status)
    now = datetime.now(timezone.utc)
    records = (exports.takedown_record(it, notifier_name=settings.notifier_name,
                                       notifier_email=settings.notifier_email, exported_at=now) for it in items)
    name = f"takedowns-{exports.safe_member(platform, 40) if platform else 'all'}-{now.strftime('%Y%m%dT%H%M%SZ')}"
    if format == "csv":
        return attachment(exports.stream_csv((exports.csv_row(r) for r in records), exports.CSV_COLUMNS),
                          "text/csv; charset=utf-8", f"{name}.csv")
    head = {"platform": platform, "exported_at": now.isoformat(), "exported_by": me.username,
            "format": "interdict-takedowns/1"}
    return attachment(exports.stream_json_array(records, head), "application/json", f"{name}.json")


@router.get("/bundle", response_class=StreamingResponse, responses=ZIP,
            summary="Evidence bundle (zip) of a platform's takedowns")
def takedown_bundle(store: Store, settings: Settings, me: CurrentUser,
                    platform: Annotated[str, Query(max_length=200)], status: TakedownStatuses = []):
    fh = exports.evidence_bundle(takedown_items(store, me, platform, status), settings.data_dir,
                                 notifier_name=settings.notifier_name, notifier_email=settings.notifier_email)
    return zip_attachment(fh, f"evidence-{exports.safe_member(platform, 40)}.zip")
