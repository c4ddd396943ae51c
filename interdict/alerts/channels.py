"""Where an alert goes: a signed webhook, an email over SMTP, or a Slack/Mattermost incoming webhook.

Each channel sends one message or raises DeliveryError; retries and the dead-letter record live in
interdict.alerts.deliver. Secrets (webhook signing keys, SMTP credentials) come from the environment only.

Webhook signature: header `X-Interdict-Timestamp: <unix seconds>` and
`X-Interdict-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`; a receiver recomputes it
and refuses stale timestamps, so a captured request cannot be replayed later.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from interdict.settings import current_settings
from interdict.alerts.rules import Rule

TIMESTAMP_HEADER = "X-Interdict-Timestamp"
SIGNATURE_HEADER = "X-Interdict-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(Exception):
    """One failed attempt; `permanent` ones (a missing secret) are not retried."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    key: str          # idempotency key: rule id + event kind + subject
    subject: str      # one line
    text: str         # plain text body
    payload: dict     # the machine-readable event


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _timeout() -> float:
    return current_settings().alerts_http_timeout


def _post(url: str, body: bytes, headers: dict) -> None:
    try:
        resp = httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers},
                          timeout=_timeout(), follow_redirects=False)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"POST {url}: {type(exc).__name__}: {exc}") from None
    if resp.status_code >= 300:
        # 4xx other than 408/429 will not get better by retrying
        permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 429)
        raise DeliveryError(f"POST {url}: HTTP {resp.status_code}", permanent=permanent)


def send_webhook(rule: Rule, msg: Message) -> None:
    secret = os.environ.get(rule.secret_env or "")
    if not secret:
        raise DeliveryError(f"rule {rule.id}: environment variable {rule.secret_env} (webhook secret) is not set",
                            permanent=True)
    body = json.dumps({"idempotency_key": msg.key, "subject": msg.subject, **msg.payload},
                      sort_keys=True, default=str).encode("utf-8")
    ts = str(int(time.time()))
    _post(rule.target, body, {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(secret, ts, body),
                              IDEMPOTENCY_HEADER: msg.key})


def slack_escape(text: str) -> str:
    """Slack/Mattermost markup escaping: scraped titles cannot forge links or @channel mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_slack(rule: Rule, msg: Message) -> None:
    text = f"*{slack_escape(msg.subject)}*\n{slack_escape(msg.text)}"
    _post(rule.target, json.dumps({"text": text}).encode("utf-8"), {})


def send_email(rule: Rule, msg: Message) -> None:
    host = current_settings().smtp_host
    port = current_settings().smtp_port
    email = EmailMessage()
    email["From"] = current_settings().smtp_from
    email["To"] = rule.target
    email["Subject"] = msg.subject
    email["X-Interdict-Idempotency-Key"] = msg.key
    email.set_content(msg.text)
    user, password = os.environ.get("INTERDICT_SMTP_USERNAME"), os.environ.get("INTERDICT_SMTP_PASSWORD")
    try:
        with smtplib.SMTP(host, port, timeout=_timeout()) as smtp:
            if current_settings().smtp_starttls:
                smtp.starttls()
            if user:
                smtp.login(user, password or "")
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        permanent = isinstance(exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused))
        raise DeliveryError(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}", permanent=permanent) from None


SENDERS = {"webhook": send_webhook, "email": send_email, "slack": send_slack}
