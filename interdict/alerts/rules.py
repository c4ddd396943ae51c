"""Alert rules and their deliveries, kept in the app DB (tables `alert_rules`, `alert_deliveries`).

A delivery is keyed by rule id + event kind + subject (listing key or run id): the evaluator sends a key only
while it is not `delivered`, so a re-run never sends twice what went out and retries what did not.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from interdict.web.appdb import AppDB

# event kind -> the parameters it takes (name -> type); data, so the CLI, the form and validation agree.
EVENTS: dict[str, dict[str, type]] = {
    "high_risk": {"risk_min": int, "platform": str, "tenant": str},
    "saved_search": {"saved_search_id": int},
    "crawl_run": {"site": str},
    "still_online": {"days": int, "platform": str, "tenant": str},
}
REQUIRED = {"high_risk": ("risk_min",), "saved_search": ("saved_search_id",), "crawl_run": (),
            "still_online": ("days",)}
CHANNELS = ("webhook", "email", "slack")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RuleError(ValueError):
    """A rule that cannot be kept: the message names the field."""


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    event: str
    params: dict
    channel: str
    target: str
    secret_env: str | None
    created_by: str
    created_at: datetime

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.event}({args}) -> {self.channel} {self.target}"


@dataclass
class Delivery:
    idem_key: str
    rule_id: int
    subject: str
    event: str
    status: str
    attempts: int
    payload: dict = field(default_factory=dict)
    last_error: str | None = None


def idem_key(rule_id: int, event: str, subject: str) -> str:
    return f"{rule_id}:{event}:{subject}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def check_rule(name: str, event: str, params: dict, channel: str, target: str, secret_env: str | None) -> dict:
    """Validated, typed params; RuleError naming the field otherwise."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise RuleError("name: 1-200 characters")
    if event not in EVENTS:
        raise RuleError(f"event: {event!r} is not one of {', '.join(EVENTS)}")
    typed = {}
    for key, value in params.items():
        if value in (None, ""):
            continue
        kind = EVENTS[event].get(key)
        if kind is None:
            raise RuleError(f"{key}: not a parameter of {event} (takes {', '.join(EVENTS[event]) or 'none'})")
        try:
            typed[key] = kind(value)
        except (TypeError, ValueError):
            raise RuleError(f"{key}: {value!r} is not a {kind.__name__}") from None
    for key in REQUIRED[event]:
        if key not in typed:
            raise RuleError(f"{key}: required for {event}")
    if "risk_min" in typed and not 0 <= typed["risk_min"] <= 100:
        raise RuleError("risk_min: 0-100")
    if "days" in typed and typed["days"] < 0:
        raise RuleError("days: 0 or more")
    if channel not in CHANNELS:
        raise RuleError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    target = (target or "").strip()
    if channel == "email" and not EMAIL.match(target):
        raise RuleError(f"target: {target!r} is not an email address")
    if channel in ("webhook", "slack") and not target.startswith(("http://", "https://")):
        raise RuleError(f"target: {target!r} is not an http(s) URL")
    if channel == "webhook":
        if not secret_env or not ENV_NAME.match(secret_env):
            raise RuleError("secret_env: a webhook needs the NAME of the environment variable holding its "
                            "signing secret (A-Z, 0-9, _)")
    elif secret_env:
        raise RuleError(f"secret_env: only webhooks are signed, not {channel}")
    return typed


class AlertRules:
    """Rules and deliveries over the app DB."""

    def __init__(self, db: AppDB):
        self.db = db

    def add(self, *, name: str, event: str, params: dict, channel: str, target: str, secret_env: str | None,
            created_by: str) -> Rule:
        typed = check_rule(name, event, params, channel, target, secret_env)
        if event == "saved_search" and not self.db.query("SELECT 1 FROM saved_searches WHERE id=?",
                                                         (typed["saved_search_id"],)):
            raise RuleError(f"saved_search_id: no saved search {typed['saved_search_id']}")
        rows = self.db.query(
            "INSERT INTO alert_rules(name, event, params, channel, target, secret_env, created_by, created_at) "
            "VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (name.strip(), event, json.dumps(typed, sort_keys=True), channel, target.strip(), secret_env or None,
             created_by, _now().isoformat()))
        return self.get(rows[0]["id"])

    def get(self, rule_id: int) -> Rule | None:
        rows = self.db.query("SELECT * FROM alert_rules WHERE id=?", (rule_id,))
        return self._rule(rows[0]) if rows else None

    def list(self) -> list[Rule]:
        return [self._rule(r) for r in self.db.query("SELECT * FROM alert_rules ORDER BY id")]

    def remove(self, rule_id: int) -> bool:
        return bool(self.db.query("DELETE FROM alert_rules WHERE id=? RETURNING id", (rule_id,)))

    @staticmethod
    def _rule(row) -> Rule:
        return Rule(row["id"], row["name"], row["event"], json.loads(row["params"]), row["channel"],
                    row["target"], row["secret_env"], row["created_by"], datetime.fromisoformat(row["created_at"]))

    # deliveries --------------------------------------------------------------------------------------
    def delivered(self, key: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM alert_deliveries WHERE idem_key=? AND status='delivered'", (key,)))

    def record(self, rule: Rule, event: str, subject: str, payload: dict, status: str, attempts: int,
               error: str | None) -> None:
        """Upsert a delivery; attempts add up across runs, a `dead` row is the dead-letter record."""
        self.db.query(
            "INSERT INTO alert_deliveries(idem_key, rule_id, subject, event, status, attempts, payload, last_error, "
            "updated_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(idem_key) DO UPDATE SET status=excluded.status, "
            "attempts=alert_deliveries.attempts+excluded.attempts, payload=excluded.payload, "
            "last_error=excluded.last_error, updated_at=excluded.updated_at",
            (idem_key(rule.id, event, subject), rule.id, subject, event, status, attempts,
             json.dumps(payload, sort_keys=True, default=str), error, _now().isoformat()))

    def deliveries(self, rule_id: int | None = None, status: str | None = None) -> list[Delivery]:
        sql, args = "SELECT * FROM alert_deliveries WHERE 1=1", []
        if rule_id is not None:
            sql, args = sql + " AND rule_id=?", args + [rule_id]
        if status:
            sql, args = sql + " AND status=?", args + [status]
        return [Delivery(r["idem_key"], r["rule_id"], r["subject"], r["event"], r["status"], r["attempts"],
                         json.loads(r["payload"]), r["last_error"])
                for r in self.db.query(sql + " ORDER BY updated_at, idem_key", args)]
