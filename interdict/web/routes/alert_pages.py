"""Admin page for alert rules (/admin/alerts): list with delivery counts and dead letters, add (inline errors),
send a test message, remove. The same AlertRules the CLI uses, so both validate alike."""
from __future__ import annotations

from urllib.parse import quote

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from interdict.alerts.deliver import send_test
from interdict.alerts.rules import CHANNELS, EVENTS, AlertRules, RuleError
from index import review_workflow as review
from interdict.web.appdb import RowId
from interdict.web.deps import AdminUser, Db
from interdict.web.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
Field200 = Annotated[str, Form(max_length=200)]


def _page(request: Request, db, error: str = "", form: dict | None = None, status: int = 200):
    rules = AlertRules(db)
    rows = [{"rule": r, "delivered": len(rules.deliveries(r.id, "delivered")), "dead": rules.deliveries(r.id, "dead")}
            for r in rules.list()]
    return render(request, "alerts.html", {"rows": rows, "error": error, "form": form or {}, "events": EVENTS,
                                           "channels": CHANNELS}, status=status)


@router.get("/admin/alerts")
def alerts_page(request: Request, db: Db, me: AdminUser):
    return _page(request, db)


@router.post("/admin/alerts")
def add_rule(request: Request, db: Db, me: AdminUser, name: Field200 = "", event: Annotated[str, Form()] = "",
             channel: Annotated[str, Form()] = "", target: Annotated[str, Form(max_length=2000)] = "",
             secret_env: Annotated[str, Form(max_length=100)] = "", risk_min: Annotated[str, Form()] = "",
             platform: Field200 = "", tenant: Field200 = "", saved_search_id: Annotated[str, Form()] = "",
             site: Field200 = "", days: Annotated[str, Form()] = ""):
    params = {"risk_min": risk_min, "platform": platform, "tenant": tenant, "saved_search_id": saved_search_id,
              "site": site, "days": days}
    try:
        rule = AlertRules(db).add(
            name=name, event=event, params={k: v.strip() for k, v in params.items() if v.strip()}, channel=channel,
            target=target, secret_env=secret_env.strip() or None, created_by=me.username)
    except RuleError as exc:
        form = {"name": name, "event": event, "channel": channel, "target": target, "secret_env": secret_env, **params}
        return _page(request, db, str(exc), form, status=422)
    return RedirectResponse("/admin/alerts?msg=" + quote(f"added rule {rule.id}"), status_code=303)


@router.post("/admin/alerts/{rule_id}/test")
def test_rule(rule_id: RowId, request: Request, db: Db, me: AdminUser):
    rules = AlertRules(db)
    rule = rules.get(rule_id)
    if rule is None:
        raise review.ReviewError(404, f"no rule {rule_id}")
    ok, attempts, error = send_test(rules, rule)
    if not ok:
        return _page(request, db, f"rule {rule_id}: test failed after {attempts} attempt(s): {error}", status=502)
    return RedirectResponse("/admin/alerts?msg=" + quote(f"test sent for rule {rule_id}"), status_code=303)


@router.post("/admin/alerts/{rule_id}/delete")
def delete_rule(rule_id: RowId, db: Db, me: AdminUser):
    if not AlertRules(db).remove(rule_id):
        raise review.ReviewError(404, f"no rule {rule_id}")
    return RedirectResponse("/admin/alerts?msg=" + quote(f"removed rule {rule_id}"), status_code=303)
