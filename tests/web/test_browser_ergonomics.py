"""Review ergonomics in real Chromium (Playwright) on listings crawled from the fixture marketplaces: a decision
opens the next listing of the queue with its filters, `c` confirms with the tenant's default legal basis and
keeps the keyboard working, refusals show next to the field, the queue sorts and pages both ways, the listing
page shows each signal and each related listing once, phones (390 px) and dark mode work, and failed crawl
runs stand out on the dashboard."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from index.store import SearchQuery
from tests.browser_helpers import do_login, serve_crawled, shot
from tests.crawl_helpers import open_target, run_crawl_process
from tests.web_helpers import SITE_A, TENANT_A, WALLET, seed

pytestmark = pytest.mark.browser
DEFAULT_BASIS = "Quayside Terms of Sale 7.2 (controlled substances)"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The crawled data plus one real failed run: the shop crawled while its server is down."""
    def add_failed_run(store, data):
        from crawlers.fixture_sites import start_all
        fx = start_all([SITE_A])
        fx.stop()                                          # the next crawl finds nobody listening
        down = open_target("sqlite", tmp_path_factory.mktemp("down"))
        try:
            failed, _ = run_crawl_process(SITE_A, down, data, fx.env(), expect_code=None, timeout=300)
            store.record_run(down.store.get_run(failed["id"]))
        finally:
            down.close()
        return {"failed": failed}
    with serve_crawled(tmp_path_factory.mktemp("web"), add_failed_run,
                       legal_basis_defaults={TENANT_A: DEFAULT_BASIS}) as srv:
        yield srv


def rows(page) -> list[str]:
    return page.eval_on_selector_all("#queue tr.row", "rs => rs.map(r => r.dataset.key)")


def open_first(page, base: str, user: str, query: str = "") -> list[str]:
    """Log in, open the queue and, with the keyboard (j, o), its first listing; returns the queue's keys."""
    do_login(page, base, user)
    page.goto(f"{base}/queue{query}")
    order = rows(page)
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_selector("#listing")
    page.wait_for_load_state("load")      # the keyboard handler (app.js) is attached once the page has loaded
    return order


def key_of(page) -> str:
    return page.get_attribute("#listing", "data-key")


def test_decisions_advance_within_the_queue_filters_and_errors_show_inline(server, page):
    base, store = server["url"], server["store"]
    order = open_first(page, base, "rev_a2", "?sort=recent&cls=")
    assert len(order) >= 3
    assert key_of(page) == order[0] and parse_qs(urlparse(page.url).query)["queue"] == ["sort=recent&cls="]
    page.click("#escalate-btn")
    page.wait_for_url(lambda u: order[0] not in u)
    assert key_of(page) == order[1]                      # escalated stays in the queue: the one after it opens
    assert "next in the queue" in page.inner_text(".flash")
    assert store.get(order[0]).review.status == "escalated"
    # dismissing without a reason: refused next to the reason field, on the same listing, nothing lost
    page.fill('#escalate-form input[name="reason"]', "")
    page.click("#dismiss-btn")
    page.wait_for_selector("#error-message")
    err = page.locator("#error-message")
    assert err.get_attribute("data-form") == "dismiss" and err.is_visible()
    assert page.locator("#dismiss-form #error-message").count() == 1
    assert page.get_attribute("#dismiss-reason", "aria-invalid") == "true"
    assert key_of(page) == order[1] and page.locator("h2", has_text="Description").count() == 1
    shot(page, "ergo-01-inline-error")
    page.fill("#dismiss-reason", "legal CBD product, no controlled substance")
    page.click("#dismiss-btn")
    page.wait_for_url(lambda u: order[1] not in u)
    assert key_of(page) == order[2]
    assert store.get(order[1]).review.status == "dismissed"
    # the filters travel on: back to the queue with `u` keeps the sort
    page.keyboard.press("u")
    page.wait_for_selector("#queue")
    assert parse_qs(urlparse(page.url).query).get("sort") == ["recent"]
    assert not page.errors


def test_c_confirms_with_the_tenant_default_and_keeps_the_keys(server, page):
    base, store = server["url"], server["store"]
    first = open_first(page, base, "rev_a")[0]
    assert page.input_value("#legal-basis") == DEFAULT_BASIS
    page.keyboard.press("c")                             # one key: confirmed, the next listing opens
    page.wait_for_url(lambda u: first not in u)
    second = key_of(page)
    assert store.get(first).review.status == "confirmed"
    assert store.get(first).review.legal_basis == DEFAULT_BASIS
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("c")                             # the keyboard still works on the next one
    page.wait_for_url(lambda u: second not in u)
    assert store.get(second).review.legal_basis == DEFAULT_BASIS
    # from the queue too: c confirms the selected row in place and the selection stays
    page.goto(f"{base}/queue")
    target = rows(page)[0]
    page.keyboard.press("j")
    page.keyboard.press("c")
    page.wait_for_function("k => !Array.from(document.querySelectorAll('#queue tr.row')).some(r => r.dataset.key === k)",
                           arg=target)
    page.wait_for_selector("#queue tr.row.current")
    assert store.get(target).review.status == "confirmed"
    assert not page.errors


def test_c_without_a_default_asks_for_the_basis(server, page):
    """rev_b's tenant has no default: `c` focuses the choice instead of confirming with nothing."""
    base, store = server["url"], server["store"]
    first = open_first(page, base, "rev_b")[0]
    page.keyboard.press("c")
    assert page.evaluate("document.activeElement.id") == "legal-basis"
    assert store.get(first).review.status == "new"
    page.click("#confirm-btn")                         # nothing chosen: refused inline
    page.wait_for_selector("#confirm-form #error-message")
    assert "needs a legal or policy basis" in page.inner_text("#error-message")


def test_queue_sorts_and_pages_both_ways(server, page):
    base, store = server["url"], server["store"]
    do_login(page, base, "admin")
    page.goto(f"{base}/queue?size=3")
    page.click("#sort-platform")
    page.wait_for_selector("#sort-platform[aria-current]")
    first = rows(page)
    platforms = page.eval_on_selector_all("#queue tr.row", "rs => rs.map(r => r.dataset.key.split(':')[0])")
    assert len(first) == 3 and platforms == sorted(platforms)
    page.click("#next-page")
    page.wait_for_selector("#prev-page")
    second = rows(page)
    assert second and not set(second) & set(first)
    seen = first + second
    every = [h.item for h in store.search(SearchQuery(flagged=True, statuses=["new", "claimed", "escalated"],
                                                      sort="platform", size=1000)).hits]
    assert seen == [i.key for i in every][:len(seen)]
    page.click("#prev-page")
    page.wait_for_selector("#sort-platform[aria-current]")
    assert rows(page) == first and page.locator("#prev-page").count() == 0
    page.click("#sort-recent")
    page.wait_for_selector("#sort-recent[aria-current]")
    assert rows(page) == [i.key for i in sorted(every, key=lambda i: (-i.last_seen.timestamp(), i.key))][:3]


def test_store_sorts_by_platform_the_same_on_both_backends(store, tmp_path):
    seed(store, tmp_path)
    expected = sorted((h.item for h in store.search(SearchQuery(size=1000)).hits),
                      key=lambda i: (i.listing.platform, -i.listing.analysis.risk, -i.last_seen.timestamp(), i.key))
    got, cursor = [], None
    while True:                                          # pages of 4 follow the cursor to the end
        res = store.search(SearchQuery(sort="platform", size=4, cursor=cursor, facets=False))
        got += [h.item.key for h in res.hits]
        if not res.next_cursor:
            break
        cursor = res.next_cursor
    assert got == [i.key for i in expected] and len(got) > 4


def test_listing_shows_each_signal_and_related_listing_once(server, page):
    base, store, keys = server["url"], server["store"], server["keys"]
    do_login(page, base, "admin")
    for key in (keys["a1"], keys["a3"]):
        page.goto(f"{base}/listings/{key}")
        cells = page.eval_on_selector_all("#signals tr.signal", "rs => rs.map(r => [r.cells[0].innerText, r.cells[1].innerText])")
        pairs = {(s.type, s.value.casefold()) for s in store.get(key).listing.analysis.signals}
        assert len(cells) == len(pairs) == len({(t, v.casefold()) for t, v in cells})
    related = page.eval_on_selector_all("#related tr.related", "rs => rs.map(r => r.dataset.key)")
    assert related and len(related) == len(set(related))
    links = page.inner_text(f'#related tr.related[data-key="{keys["b1"]}"] td.links')
    assert WALLET in links                                  # a3 and b1 are paid to the same wallet
    shot(page, "ergo-02-related")


@pytest.mark.parametrize("path", ["/queue", "/", "listing"])
def test_phone_width_and_dark_mode(server, browser, path):
    base, keys = server["url"], server["keys"]
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    pg = ctx.new_page()
    try:
        do_login(pg, base, "admin")
        pg.goto(base + (f"/listings/{keys['a3']}" if path == "listing" else path))
        pg.wait_for_load_state("load")
        width = pg.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        wide = pg.evaluate("""Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right + parseFloat(getComputedStyle(e).marginRight || 0)
                         > document.documentElement.clientWidth
                         || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
        assert width[0] <= width[1], (width, wide)          # no horizontal scroll
        bg = pg.evaluate("getComputedStyle(document.body).backgroundColor")
        r, g, b = (int(x) for x in bg[bg.index("(") + 1:bg.index(")")].split(",")[:3])
        assert r + g + b < 150, bg                          # prefers-color-scheme: dark honoured
        shot(pg, f"ergo-03-phone-dark-{path.strip('/') or 'dashboard'}")
        if path == "/queue":                                # the controls are usable: tap filter, open a row
            box = pg.locator("#filters button[type=submit]").bounding_box()
            assert box and box["x"] + box["width"] <= 390
            pg.click("#filters button[type=submit]")
            pg.locator("#queue a.title").first.click()
            pg.wait_for_selector("#listing")
    finally:
        ctx.close()


def test_failed_runs_stand_out_on_the_dashboard(server, page):
    base, failed = server["url"], server["failed"]
    assert failed["status"] in ("failed", "degraded"), failed
    do_login(page, base, "admin")
    page.goto(f"{base}/")
    row = page.locator("#runs tr", has_text=failed["id"])
    assert f"run-{failed['status']}" in row.get_attribute("class")
    ok_bg = page.eval_on_selector("#runs tr.run-succeeded", "r => getComputedStyle(r).backgroundColor")
    assert row.evaluate("r => getComputedStyle(r).backgroundColor") != ok_bg
    assert failed["status"] in page.inner_text("#runs-alert") and SITE_A in page.inner_text("#runs-alert")
    shot(page, "ergo-04-failed-run")


def test_a_default_legal_basis_for_an_undeclared_tenant_is_refused(tmp_path, monkeypatch):
    """A typo in web_legal_basis_defaults fails at start-up, naming the setting and the tenant."""
    from interdict.web.config import WebSettings
    monkeypatch.setenv("INTERDICT_WEB_LEGAL_BASIS_DEFAULTS", '{"quayside-trust-safty": "ToS 7.2"}')
    with pytest.raises(ValueError, match=r"web_legal_basis_defaults.*'quayside-trust-safty' is not declared"):
        WebSettings.from_env(tmp_path)
    monkeypatch.setenv("INTERDICT_WEB_LEGAL_BASIS_DEFAULTS", f'{{"{TENANT_A}": " "}}')
    with pytest.raises(ValueError, match=rf"web_legal_basis_defaults.{TENANT_A}: the legal basis must be"):
        WebSettings.from_env(tmp_path)
    monkeypatch.setenv("INTERDICT_WEB_LEGAL_BASIS_DEFAULTS", f'{{"{TENANT_A}": "{DEFAULT_BASIS}"}}')
    assert WebSettings.from_env(tmp_path).legal_basis_defaults == {TENANT_A: DEFAULT_BASIS}
