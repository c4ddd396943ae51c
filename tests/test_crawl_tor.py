"""Tor sites: every request goes through the SOCKS5 proxy with remote DNS; no .onion name is ever resolved here.

The crawl runs in a fresh process whose resolver entry points (socket.getaddrinfo, gethostbyname[_ex], which
Twisted's and Scrapy's resolvers call) are wrapped *before* Twisted is imported, so every local lookup is
counted. The fixture SOCKS5 proxy records each CONNECT and whether it named the host (ATYP=domain).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crawl_helpers import ROOT, crawl_env, open_target, site_yaml, stored, truth

pytestmark = pytest.mark.slow

COUNTING_RUNNER = r"""
import atexit, json, socket, sys
lookups = []
def counting(fn):
    def wrapper(host, *args, **kwargs):
        lookups.append(host.decode() if isinstance(host, bytes) else str(host))
        return fn(host, *args, **kwargs)
    return wrapper
for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
    setattr(socket, name, counting(getattr(socket, name)))
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(lookups)))
from crawlers.run import main
code = main(sys.argv[1:])
open(out, "w").write(json.dumps(lookups))
sys.exit(code)
"""


def crawl_counting_lookups(site_id, target, tmp, fx, sites_dir=None):
    out = tmp / "lookups.json"
    cmd = [sys.executable, "-c", COUNTING_RUNNER, str(out), site_id, "--store", target.spec, "--json"]
    if sites_dir:
        cmd += ["--sites-dir", str(sites_dir)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=crawl_env(target, tmp / "var", fx.env()))
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    return json.loads(proc.stdout), json.loads(out.read_text())


@pytest.mark.parametrize("render", ["http", pytest.param("browser", marks=pytest.mark.browser)])
def test_darknet_crawl_leaks_no_dns_and_goes_only_through_socks(tmp_path, render):
    from crawlers.fixture_sites import start_all
    target = open_target("sqlite", tmp_path)
    sites_dir = tmp_path / "sites"
    site_yaml("darkmarket", sites_dir, render={"mode": render, "wait_for": "h1", "screenshot": render == "browser"})
    with start_all(["darkmarket"]) as fx:
        onion = fx["darkmarket"].site.onion
        run, lookups = crawl_counting_lookups("darkmarket", target, tmp_path, fx, sites_dir)
        connections, refused, named = fx.socks.connections, fx.socks.refused, fx.socks.domain_requests
        served = list(fx["darkmarket"].server.requests)
    try:
        assert run["status"] == "succeeded", run
        # Everything was crawled …
        assert set(stored(target, "darkmarket")) == {f"darkmarket:{i}" for i in truth("darkmarket")}
        # … without one local lookup of an .onion name (the resolver wrapper did see other lookups: it works)
        assert not [h for h in lookups if ".onion" in h.lower()], lookups
        # … and through the proxy only: every CONNECT named the onion host (remote DNS), none refused,
        assert connections and {h for h, _ in connections} == {onion}
        assert named == len(connections) and not refused
        # and every request the market served carried the onion Host (it answers 421 to anything else).
        assert served and all(host.split(":")[0] == onion for _, _, host in served)
        manifest = [json.loads(line) for line in Path(run["manifest"]).read_text().splitlines()]
        responses = [m for m in manifest if m["kind"] == "response"]
        assert responses and all(m["via_proxy"] and m["url"].startswith(f"http://{onion}/") for m in responses)
    finally:
        target.close()


def test_resolver_wrapper_sees_lookups(tmp_path):
    """The counting runner really observes the resolver (so zero .onion lookups above is meaningful)."""
    code = COUNTING_RUNNER.split("out = sys.argv")[0] + (
        "socket.getaddrinfo('localhost', 80)\nprint(json.dumps(lookups))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert json.loads(proc.stdout) == ["localhost"]


def test_socks_proxy_must_use_remote_dns():
    from crawlers.socks import SocksProxy
    assert SocksProxy.from_url("socks5h://127.0.0.1:9050").host == "127.0.0.1"
    with pytest.raises(ValueError, match="socks5h"):
        SocksProxy.from_url("socks5://127.0.0.1:9050")
    with pytest.raises(ValueError, match="IP address"):
        SocksProxy.from_url("socks5h://tor-proxy.internal:9050")
