"""`interdict alerts add|list|remove|test|run`: alert rules and the evaluator to run after each crawl."""
from __future__ import annotations

import json
from typing import Optional

import typer

alerts = typer.Typer(help="Alert rules (webhook, email, Slack/Mattermost) and their evaluator.", no_args_is_help=True)


def _rules():
    from interdict.alerts.rules import AlertRules
    from interdict.web.appdb import AppDB
    from interdict.web.config import WebSettings
    return AlertRules(AppDB(WebSettings.from_env().app_db))



@alerts.command("add")
def add(name: str = typer.Option(..., help="What the rule is for"),
        on: str = typer.Option(..., "--on", help="high_risk, saved_search, crawl_run or still_online"),
        channel: str = typer.Option(..., help="webhook, email or slack"),
        target: str = typer.Option(..., help="URL (webhook, slack) or email address"),
        secret_env: Optional[str] = typer.Option(None, help="webhook: NAME of the env variable with its secret"),
        risk_min: Optional[int] = typer.Option(None, help="high_risk: lowest risk (0-100)"),
        platform: Optional[str] = typer.Option(None, help="high_risk, still_online: only this platform"),
        tenant: Optional[str] = typer.Option(None, help="high_risk, still_online: only this tenant"),
        saved_search: Optional[int] = typer.Option(None, help="saved_search: the saved search id"),
        site: Optional[str] = typer.Option(None, help="crawl_run: only this site id"),
        days: Optional[int] = typer.Option(None, help="still_online: days since the confirmation")) -> None:
    """Add a rule. Listing and run events count only from now on (no backlog)."""
    from interdict.alerts.rules import RuleError
    from interdict.cli import fail
    params = {"risk_min": risk_min, "platform": platform, "tenant": tenant, "saved_search_id": saved_search,
              "site": site, "days": days}
    try:
        rule = _rules().add(name=name, event=on, params={k: v for k, v in params.items() if v is not None},
                            channel=channel, target=target, secret_env=secret_env, created_by="cli")
    except RuleError as exc:
        raise fail(str(exc))
    typer.echo(f"added rule {rule.id}: {rule.describe()}")


@alerts.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Rules with their delivery counts as JSON")) -> None:
    """List rules with delivered / dead-letter counts."""
    rules = _rules()
    out = []
    for r in rules.list():
        counts = {"delivered": len(rules.deliveries(r.id, "delivered")), "dead": len(rules.deliveries(r.id, "dead"))}
        out.append({"id": r.id, "name": r.name, "event": r.event, "params": r.params, "channel": r.channel,
                    "target": r.target, "secret_env": r.secret_env, "created_at": r.created_at.isoformat(), **counts})
        if not as_json:
            typer.echo(f"{r.id}\t{r.name}\t{r.describe()}\tdelivered={counts['delivered']} dead={counts['dead']}")
    if as_json:
        typer.echo(json.dumps(out, indent=2))


@alerts.command("remove")
def remove(rule_id: int) -> None:
    """Remove a rule and its delivery records."""
    from interdict.cli import fail
    if not _rules().remove(rule_id):
        raise fail(f"no rule {rule_id}")
    typer.echo(f"removed rule {rule_id}")


@alerts.command("test")
def test(rule_id: int) -> None:
    """Send a test message through the rule's channel; exit 1 if it could not be delivered."""
    from interdict.alerts.deliver import send_test
    from interdict.cli import fail
    rules = _rules()
    rule = rules.get(rule_id)
    if rule is None:
        raise fail(f"no rule {rule_id}")
    ok, attempts, error = send_test(rules, rule)
    typer.echo(f"rule {rule_id}: " + (f"delivered ({attempts} attempt(s))" if ok else f"failed after {attempts}: {error}"))
    if not ok:
        raise typer.Exit(1)


@alerts.command("run")
def run(store: Optional[str] = typer.Option(None, help="Store spec: sqlite, sqlite:PATH or an Elasticsearch URL"),
        rule: list[int] = typer.Option([], "--rule", help="Only these rule ids (repeat)"),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON")) -> None:
    """Evaluate the rules and deliver what is not yet delivered (run it after each crawl). Exit 1 on dead letters."""
    from interdict.alerts.deliver import run as run_rules
    from interdict.settings import current_settings
    with current_settings().open_store(store) as s:
        report = run_rules(_rules(), s, rule_ids=rule or None)
    if as_json:
        typer.echo(json.dumps(report.__dict__))
    else:
        typer.echo(f"delivered {report.delivered}, already delivered {report.skipped}, dead letters {report.dead}")
        for err in report.errors:
            typer.echo(f"error: {err}", err=True)
    if report.dead or report.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts, name="alerts")
