"""The API answers what its OpenAPI document says: schemathesis drives the real app on uvicorn (127.0.0.1),
seeded by a real crawl of the fixture shop, as an admin and as a reviewer of the shop's tenant. Any 5xx, an
undocumented status or content type, or a body that does not match its schema fails the run.

Bounded: a few generated requests per operation (schemathesis' coverage phase adds its boundary cases), well
under five minutes on the 2-core machine. Every case gets a fresh token and the two principals are restored
first (through AppDB, as the admin API does), because fuzzed calls may revoke tokens or disable users.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.crawl_helpers import open_target, run_crawl_process
from tests.live_server import serving

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSWORD = "schemathesis-password"
EXAMPLES = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The fixture shop crawled into SQLite, the app on uvicorn over that store and its evidence."""
    from crawlers.fixture_sites import start_all
    from interdict.web.app import create_app
    from interdict.web.config import WebSettings
    from interdict.web.demo import create_demo_users

    tmp = tmp_path_factory.mktemp("api-schema")
    target = open_target("sqlite", tmp)
    data_dir = tmp / "var"
    with start_all(["shop"]) as fx, pytest.MonkeyPatch.context() as mp:
        run_crawl_process("shop", target, data_dir, fx.env())
        target.store.refresh()
        mp.setenv("INTERDICT_DATA_DIR", str(data_dir))      # the schedule API's job and run stores live here
        app = create_app(target.store, WebSettings(data_dir=data_dir, secret_key="schemathesis-secret-0123456789"))
        accounts, _ = create_demo_users(target.store, app.state.db)   # a reviewer for the shop's tenant
        users = {u["role"]: u["username"] for u in accounts}
        try:
            with serving(app) as url:
                yield {"url": url, "app": app, "accounts": accounts, "users": users}
        finally:
            target.close()


def call_as(served, role: str, case) -> None:
    db = served["app"].state.db
    for user in served["accounts"]:    # undo what a fuzzed PATCH /api/users may have done
        db.update_user(user["username"], role=user["role"], tenants=user["tenants"], disabled=False)
    _, token = db.create_token(served["users"][role], "schemathesis")
    case.call_and_validate(base_url=served["url"], headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def fuzz(served, role: str) -> list[str]:
    """Every operation of the served document, EXAMPLES generated cases each; the failures, one line each."""
    schema = schemathesis.openapi.from_url(served["url"] + "/openapi.json")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        def check(case):
            call_as(served, role, case)
        try:
            check()
        except Exception as exc:    # schemathesis' FailureGroup / CheckFailed: report and go on
            failures.append(f"{operation.label}: {str(exc).strip()[:1500]}")
    return failures


@pytest.mark.parametrize("role", ["admin", "reviewer"])
def test_api_matches_openapi(served, role):
    failures = fuzz(served, role)
    assert not failures, "\n\n".join(failures)


def test_served_corpus_and_reviewer_are_real(served):
    """The run above is only meaningful on a store with listings the reviewer can read."""
    import httpx
    _, token = served["app"].state.db.create_token(served["users"]["reviewer"], "check")
    r = httpx.get(served["url"] + "/api/queue", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["total"] > 0
    missing = httpx.get(served["url"] + "/api/listings/shop:no-such-listing",
                        headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404 and missing.json() == {"detail": "no such listing"}


def test_every_error_has_the_documented_shape(served):
    """Validation errors, the schedule API's HTTPException and the app's own errors answer one ErrorBody."""
    import httpx
    db = served["app"].state.db
    admin = {"Authorization": f"Bearer {db.create_token(served['users']['admin'], 'check')[1]}"}
    reviewer = {"Authorization": f"Bearer {db.create_token(served['users']['reviewer'], 'check')[1]}"}
    url = served["url"]
    invalid = httpx.post(url + "/api/bulk", json={"keys": [], "action": "claim"}, headers=admin)
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["field"] == "keys" and isinstance(body["detail"], str) and body["errors"][0]["loc"] == ["body", "keys"]
    ghost = httpx.put(url + "/api/schedules/ghost", json={"interval": "1h"}, headers=admin)
    assert ghost.status_code == 404 and "unknown site 'ghost'" in ghost.json()["detail"]
    bad_cron = httpx.put(url + "/api/schedules/shop", json={"cron": "* * 32 * *"}, headers=admin)
    assert bad_cron.status_code == 422 and bad_cron.json()["field"] == "cron"
    forbidden = httpx.get(url + "/api/users", headers=reviewer)
    assert forbidden.status_code == 403 and set(forbidden.json()) == {"detail"}
    syntax = httpx.get(url + "/api/search", params={"q": "risk:[50 TO"}, headers=reviewer)
    assert syntax.status_code == 400 and syntax.json()["field"] == "q" and isinstance(syntax.json()["position"], int)
    anonymous = httpx.get(url + "/api/me")
    assert anonymous.status_code == 401 and anonymous.json() == {"detail": "authentication required"}
