"""Evaluate every rule and deliver its events at least once.

Each event is sent under its idempotency key unless that key is already `delivered`. A failed attempt is retried
with exponential backoff (`alerts_max_attempts`, `alerts_backoff_seconds`); when the attempts run out the
delivery is kept as `dead` (the dead-letter record: payload, attempts, last error) and the next run tries it
again. A receiver that also dedupes on the key gets exactly-once in effect.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from interdict.settings import current_settings
from index.store import ListingStore
from interdict.alerts.channels import SENDERS, DeliveryError, Message
from interdict.alerts.events import COLLECTORS, Event
from interdict.alerts.rules import AlertRules, Rule, idem_key

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    delivered: int = 0
    skipped: int = 0          # already delivered earlier
    dead: int = 0
    errors: list[str] = field(default_factory=list)   # rules that could not be evaluated


def _text(event: Event) -> str:
    lines = [event.title, ""]
    for key, value in event.payload.items():
        if value not in (None, "", [], {}):
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def message(rule: Rule, event: Event) -> Message:
    key = idem_key(rule.id, event.kind, event.subject)
    return Message(key, f"[interdict] {rule.name}: {event.title}"[:300], _text(event),
                   {"rule": {"id": rule.id, "name": rule.name}, "event": event.kind, "subject": event.subject,
                    "data": event.payload})


def send_with_retries(rule: Rule, msg: Message, *, max_attempts: int | None = None,
                      backoff: float | None = None) -> tuple[bool, int, str | None]:
    """(sent, attempts made, last error). Sleeps backoff * 2**n between attempts."""
    max_attempts = max_attempts or current_settings().alerts_max_attempts
    backoff = current_settings().alerts_backoff_seconds if backoff is None else backoff
    error = None
    for attempt in range(1, max_attempts + 1):
        try:
            SENDERS[rule.channel](rule, msg)
            return True, attempt, None
        except DeliveryError as exc:
            error = str(exc)
            log.warning("alert %s attempt %d/%d: %s", msg.key, attempt, max_attempts, error)
            if exc.permanent or attempt == max_attempts:
                return False, attempt, error
            time.sleep(backoff * 2 ** (attempt - 1))
    return False, max_attempts, error


def deliver(rules: AlertRules, rule: Rule, event: Event, report: RunReport, **retry) -> None:
    msg = message(rule, event)
    if rules.delivered(msg.key):
        report.skipped += 1
        return
    ok, attempts, error = send_with_retries(rule, msg, **retry)
    rules.record(rule, event.kind, event.subject, msg.payload, "delivered" if ok else "dead", attempts, error)
    if ok:
        report.delivered += 1
    else:
        report.dead += 1


def run(rules: AlertRules, store: ListingStore, rule_ids: list[int] | None = None, **retry) -> RunReport:
    """Evaluate the rules (all, or `rule_ids`) against the store and deliver what is not yet delivered."""
    report = RunReport()
    store.refresh()
    for rule in rules.list():
        if rule_ids and rule.id not in rule_ids:
            continue
        try:
            for event in COLLECTORS[rule.event](rule, store, rules.db):
                deliver(rules, rule, event, report, **retry)
        except LookupError as exc:
            report.errors.append(str(exc))
    return report


def send_test(rules: AlertRules, rule: Rule, **retry) -> tuple[bool, int, str | None]:
    """Send one test message through the rule's channel (recorded like any delivery, subject `test:<time>`)."""
    subject = f"test:{int(time.time())}"
    event = Event(rule.event, subject, "Test alert: this channel works", {"test": True})
    msg = message(rule, event)
    ok, attempts, error = send_with_retries(rule, msg, **retry)
    rules.record(rule, event.kind, subject, msg.payload, "delivered" if ok else "dead", attempts, error)
    return ok, attempts, error


_AFTER_CRAWL = threading.Lock()


def after_crawl(store_spec: str | None = None) -> RunReport | None:
    """The scheduler's post-crawl step (`interdict scheduler run` calls it on every finished run, unless
    `alerts_after_crawl` is false): one evaluation at a time per process, so parallel runs never race to send."""
    if not current_settings().alerts_after_crawl:
        return None
    from interdict.web.appdb import AppDB
    from interdict.web.config import WebSettings
    with _AFTER_CRAWL, current_settings().open_store(store_spec) as store:
        db = AppDB(WebSettings.from_env().app_db)
        try:
            return run(AlertRules(db), store)
        finally:
            db.close()
