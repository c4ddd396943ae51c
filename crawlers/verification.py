"""Takedown verification (issue 6 §5): a recrawl settles what became of every confirmed takedown.

confirmed -> removed       the listing vanished (404/410, the site's removal marker), with the time to removal
confirmed -> still_online  the listing was seen online by a crawl that started after the takedown was confirmed
still_online -> removed    a later crawl finds it gone

The transitions are index.review_workflow's (its table, its `confirmed_at`). The crawler records them itself,
as the actor `system:recrawl`, through the store contract
(`update_review` with the listing's current token, which appends exactly one audit event per transition). The
web app shows the outcome from the review state and `removed_at`. Everything here runs on the run's store
thread (`RunExtension.call`/`defer`).

Time to removal is measured from the takedown confirmation to the crawl that observed the listing gone: an
upper bound (the platform may have removed it any time after it was last seen online), so the reason also says
when it was last seen online.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from index.documents import from_ms, ms
from index.models import StoredListing
from index.review_workflow import AWAITING_VERIFICATION, aware, confirmed_at, may_transition
from index.store import ConflictError, ListingStore, SearchQuery

log = logging.getLogger(__name__)

ACTOR = "system:recrawl"


@dataclass
class Outcome:
    """One verification transition, for the run's counters and manifest."""
    key: str
    to_status: str
    reason: str
    time_to_removal: float | None = None     # seconds from confirmation to the observed removal


def human_duration(seconds: float) -> str:
    """'2d 3h 04m', '1h 05m', '4m 10s', '12s': readable in a review reason and an export."""
    s = int(round(max(0.0, seconds)))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d}d {h}h {m:02d}m"
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m {sec:02d}s"
    return f"{sec}s"


class TakedownVerifier:
    """Per crawl run: which listings of the platform await verification, and the transitions."""

    def __init__(self, store: ListingStore, platform: str, run_started: datetime):
        self.store = store
        self.platform = platform
        # at the store's precision: decision times are kept to the millisecond, so a decision in the crawl's
        # first millisecond would otherwise compare as earlier than the crawl and count as seen after it
        self.run_started = from_ms(ms(aware(run_started)))
        self.pending: set[str] = set()

    def load(self) -> list[Outcome]:
        """Find the platform's open takedowns (a handful: one search, not one read per listing). A confirmed
        listing the store already holds as removed (it vanished before this feature or before the decision)
        is settled now, since no recheck will fetch it again."""
        self.store.refresh()    # decisions made just before the crawl must be visible to the search
        query = SearchQuery(platforms=[self.platform], statuses=list(AWAITING_VERIFICATION), sort="recent",
                            facets=False, highlight=False, size=500)
        out = []
        for item in list(self.store.iter_listings(query)):   # read first: the loop changes statuses
            if item.removed_at is not None:
                o = self.removed(item.key, item.removed_at, "already marked removed in the store")
                if o:
                    out.append(o)
            else:
                self.pending.add(item.key)
        return out

    # ---- transitions

    def seen_online(self, keys) -> list[Outcome]:
        """Listings just stored as online: a confirmed takedown seen by a crawl started after the decision
        is still online. A decision taken during this crawl waits for the next one."""
        out = []
        for key in set(keys) & self.pending:
            o = self._transition(key, "still_online", self._still_online_reason)
            self.pending.discard(key)
            if o:
                out.append(o)
        return out

    def removed(self, key: str, at: datetime, why: str) -> Outcome | None:
        """The listing is gone from the platform (the store's removed_at is already set to `at`)."""
        at = aware(at)
        self.pending.discard(key)
        ttr: dict = {}

        def reason(cur: StoredListing) -> str | None:
            if not may_transition(cur.review.status, "removed"):
                return None
            start = confirmed_at(self.store, cur)
            last = aware(cur.last_seen)
            text = f"removed from platform ({why}) at {at:%Y-%m-%d %H:%M:%S} UTC"
            if start is None:
                return text + "; time to removal unknown (no confirmation in the audit trail)"
            seconds = max(0.0, (at - start).total_seconds())
            ttr.update(time_to_removal_seconds=round(seconds, 3), confirmed_at=start.isoformat(),
                       removed_at=at.isoformat())
            text += (f"; time to removal {human_duration(seconds)} ({int(round(seconds))} s) since the takedown "
                     f"was confirmed at {start:%Y-%m-%d %H:%M:%S} UTC")
            if last and start < last < at:
                text += f"; last seen online {human_duration((last - start).total_seconds())} after confirmation"
            return text
        o = self._transition(key, "removed", reason, data=ttr)     # `reason` fills ttr before the write
        if o:
            o.time_to_removal = ttr.get("time_to_removal_seconds")
        return o

    def _still_online_reason(self, cur: StoredListing) -> str | None:
        if cur.review.status != "confirmed":
            return None     # still_online already, or decided otherwise meanwhile
        decided = aware(cur.review.decided_at)
        if decided is None or decided >= self.run_started:
            return None
        return (f"still online at recrawl {self.run_started:%Y-%m-%d %H:%M:%S} UTC, "
                f"{human_duration((self.run_started - decided).total_seconds())} after the takedown was confirmed")

    def _transition(self, key: str, to_status: str, reason_of, data: dict | None = None) -> Outcome | None:
        """update_review with the current token; on a conflict (a reviewer acted meanwhile) re-read and retry
        once, re-checking that the transition still applies. The legal basis of the confirmation is kept."""
        for attempt in (1, 2):
            cur = self.store.get(key)
            if cur is None:
                return None
            reason = reason_of(cur)
            if reason is None:
                return None
            try:
                self.store.update_review(key, to_status, token=cur.token, actor=ACTOR, reason=reason,
                                         legal_basis=cur.review.legal_basis, action="verify", data=data)
                return Outcome(key, to_status, reason)
            except ConflictError:
                if attempt == 2:
                    log.warning("takedown verification of %s gave up after a second conflict", key)
                    return None
        return None
