"""`auth: cookies`: the operator logs in with a browser and exports the session; the crawler uses it as is.

Against the darknet fixture (login wall, session cookie, .onion behind the fixture SOCKS5 proxy): the session is
obtained by a real login, exported as a Netscape cookies.txt (with curl's `#HttpOnly_` prefix) or a JSON list
(Cookie-Editor style), and the crawl must get past the wall without ever logging in itself, keep the cookie out
of the evidence, and stop clearly when the exported session has expired."""
from __future__ import annotations

import http.client
import json
import re
import subprocess
from urllib.parse import urlencode

import pytest

from crawlers.fixture_sites.darkmarket import SESSION_COOKIE
from tests.crawl_helpers import ROOT, crawl_cmd, crawl_env, open_target, run_crawl_process, site_yaml, stored, truth

pytestmark = pytest.mark.slow
SITE = "darkmarket"


def browser_login(handle, user: str, password: str) -> str:
    """What the operator does in Tor Browser: open the login page, submit the form, keep the session cookie."""
    onion = handle.site.onion

    def request(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(handle.host, handle.port, timeout=10)
        conn.request(method, path, body=body, headers={"Host": onion, **(headers or {})})
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        conn.close()
        return resp, data

    _, page = request("GET", "/login")
    csrf = re.search(r'name="_csrf"\s+value="([^"]+)"', page).group(1)
    resp, _ = request("POST", "/login", urlencode({"username": user, "password": password, "_csrf": csrf,
                                                   "next": "/"}),
                      {"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 303, resp.status
    cookie = resp.getheader("Set-Cookie")
    return re.match(rf"{SESSION_COOKIE}=([^;]+)", cookie).group(1)


def export(path, fmt: str, onion: str, sid: str):
    if fmt == "netscape":
        path.write_text("# Netscape HTTP Cookie File\n# exported by the operator's browser\n\n"
                        f"#HttpOnly_{onion}\tFALSE\t/\tFALSE\t0\t{SESSION_COOKIE}\t{sid}\n", encoding="utf-8")
    else:
        path.write_text(json.dumps([{"domain": onion, "hostOnly": True, "httpOnly": True, "name": SESSION_COOKIE,
                                     "path": "/", "sameSite": "lax", "secure": False, "session": True,
                                     "storeId": "0", "value": sid}], indent=2), encoding="utf-8")
    return path


@pytest.fixture
def sqlite_target(tmp_path):
    t = open_target("sqlite", tmp_path)
    yield t
    t.close()


@pytest.mark.parametrize("fmt", ["netscape", "json"])
def test_exported_session_gets_past_the_login_wall(sqlite_target, tmp_path, fmt):
    from crawlers.fixture_sites import start_all
    with start_all([SITE]) as fx:
        dm = fx[SITE]
        env = fx.env()
        sid = browser_login(dm, env["INTERDICT_DARKMARKET_USER"], env["INTERDICT_DARKMARKET_PASSWORD"])
        cookies = export(tmp_path / f"cookies.{fmt}", fmt, dm.site.onion, sid)
        sites = tmp_path / "sites"
        site_yaml(SITE, sites, auth={"type": "cookies", "cookies_file": str(cookies)})
        # No credentials in the crawl's environment: only the exported session can open the market.
        env = {k: v for k, v in env.items() if "DARKMARKET_" not in k}
        run, _ = run_crawl_process(SITE, sqlite_target, tmp_path / "var", env, sites_dir=sites,
                                   INTERDICT_DARKMARKET_USER="", INTERDICT_DARKMARKET_PASSWORD="")
        logins = dm.site.logins
        login_posts = [r for r in dm.requests if r[0] == "POST" and r[1].startswith("/login")]

    assert run["status"] == "succeeded", run
    assert logins == 1 and len(login_posts) == 1          # ours, in the "browser"; the crawler never logged in
    got = stored(sqlite_target, SITE)
    assert set(got) == {f"{SITE}:{i}" for i in truth(SITE)}
    assert not {k for k in run["errors"] if k in ("session_expired", "login_failed")}
    # The session is a secret: neither the manifest nor the crawl log holds it.
    evidence = tmp_path / "var" / "evidence" / SITE
    for name in ("manifest.jsonl", "crawl.log"):
        for f in evidence.rglob(name):
            assert sid not in f.read_text(encoding="utf-8", errors="replace"), f


def test_expired_exported_session_fails_clearly(sqlite_target, tmp_path):
    from crawlers.fixture_sites import start_all
    with start_all([SITE]) as fx:
        dm = fx[SITE]
        env = fx.env()
        sid = browser_login(dm, env["INTERDICT_DARKMARKET_USER"], env["INTERDICT_DARKMARKET_PASSWORD"])
        cookies = export(tmp_path / "cookies.txt", "netscape", dm.site.onion, sid)
        dm.site.expire_sessions()
        sites = tmp_path / "sites"
        site_yaml(SITE, sites, auth={"type": "cookies", "cookies_file": str(cookies)})
        run, _ = run_crawl_process(SITE, sqlite_target, tmp_path / "var", env, sites_dir=sites, expect_code=1)
        logins = dm.site.logins
    assert run["status"] == "failed"
    assert "export fresh cookies" in run["reason"] and str(cookies) in run["reason"]
    assert run["errors"].get("session_expired") == 1
    assert logins == 1                                     # no attempt to log in with a form it does not have
    assert stored(sqlite_target, SITE) == {}


@pytest.mark.parametrize("content, where", [
    ("# Netscape HTTP Cookie File\nexample.onion\tFALSE\t/\tFALSE\n", ":2: expected 7 tab-separated fields"),
    ('[{"name": "obsid_sess", "value": "x"},\n {"value": "no name"}]', "cookie #2: needs string 'name'"),
    ('[{"name": "obsid_sess",\n "value": }]', ":2: not valid JSON"),
    ("# Netscape HTTP Cookie File\n", "no cookies in the file"),
])
def test_bad_cookies_file_is_one_line_naming_file_and_line(sqlite_target, tmp_path, content, where):
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(content, encoding="utf-8")
    sites = tmp_path / "sites"
    site_yaml(SITE, sites, auth={"type": "cookies", "cookies_file": str(cookies)})
    proc = subprocess.run(crawl_cmd(SITE, sqlite_target, sites), cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=crawl_env(sqlite_target, tmp_path / "var", {}))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{cookies}" in lines[0] and where in lines[0] and "auth.cookies_file" in lines[0], lines[0]
