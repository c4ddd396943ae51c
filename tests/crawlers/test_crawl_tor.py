"""Tor sites: the crawl process talks to nothing but the SOCKS5 proxy; no name is ever resolved here.

The crawl runs in a fresh process with tests/support/netaudit on PYTHONPATH: its sitecustomize installs a
Python audit hook (sys.addaudithook) before anything else is imported, which records every name lookup and every
socket connect/bind/sendto in the crawl process and in its analysis child. The fixture SOCKS5 proxy records each
CONNECT and whether it named the host (ATYP=domain). tldextract's cache points at an empty directory, as on a
fresh machine, so a Public Suffix List download would show up.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crawl_helpers import ROOT, crawl_cmd, crawl_env, open_target, site_yaml, stored, truth

pytestmark = pytest.mark.slow

NETAUDIT = ROOT / "tests" / "support" / "netaudit"


def ipv6_probe(event: dict) -> bool:
    """urllib3 checks at import whether IPv6 works by binding a socket to ::1 port 0 and closing it: no
    listening, no traffic."""
    return (event["event"] == "socket.bind" and event["target"] == ["::1", 0]
            and event["caller"].endswith("urllib3/util/connection.py:_has_ipv6"))


def audited_env(target, tmp: Path, fx) -> tuple[dict, Path]:
    out = tmp / "net-audit.jsonl"
    env = crawl_env(target, tmp / "var", fx.env(), INTERDICT_TEST_NET_AUDIT=str(out),
                    TLDEXTRACT_CACHE=str(tmp / "tldextract-cache"))
    env["PYTHONPATH"] = str(NETAUDIT) + ":" + env["PYTHONPATH"]
    return env, out


def crawl_audited(site_id, target, tmp, fx, sites_dir=None):
    env, out = audited_env(target, tmp, fx)
    proc = subprocess.run(crawl_cmd(site_id, target, sites_dir), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    events = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return json.loads(proc.stdout), events


@pytest.mark.parametrize("render", ["http", pytest.param("browser", marks=pytest.mark.browser)])
def test_tor_crawl_talks_only_to_the_socks_proxy(tmp_path, render):
    from crawlers.fixture_sites import start_all
    target = open_target("sqlite", tmp_path)
    sites_dir = tmp_path / "sites"
    site_yaml("darkmarket", sites_dir, render={"mode": render, "wait_for": "h1", "screenshot": render == "browser"})
    with start_all(["darkmarket"]) as fx:
        onion = fx["darkmarket"].site.onion
        proxy = [fx.socks.host, fx.socks.port]
        run, events = crawl_audited("darkmarket", target, tmp_path, fx, sites_dir)
        connections, refused, named = fx.socks.connections, fx.socks.refused, fx.socks.domain_requests
        served = list(fx["darkmarket"].server.requests)
    try:
        assert run["status"] == "succeeded", run
        # Everything was crawled …
        assert set(stored(target, "darkmarket")) == {f"darkmarket:{i}" for i in truth("darkmarket")}
        # … with no name lookup at all and no socket to anything but the proxy (no Public Suffix List download,
        # no listening server), in the crawl process and its children; the hook did see the proxy connections.
        assert [e for e in events if e["event"] == "socket.connect"], events
        assert [e for e in events if (e["event"] != "socket.connect" or e["target"] != proxy)
                and not ipv6_probe(e)] == []
        # Every CONNECT at the proxy named the onion host (remote DNS), none refused,
        assert connections and {h for h, _ in connections} == {onion}
        assert named == len(connections) and not refused
        # every request the market served carried the onion Host (it answers 421 to anything else), and no
        # robots.txt was asked for.
        assert served and all(host.split(":")[0] == onion for _, _, host in served)
        assert not [path for _, path, _ in served if path.startswith("/robots.txt")]
        manifest = Path(run["manifest"])
        responses = [m for m in map(json.loads, manifest.read_text().splitlines()) if m["kind"] == "response"]
        assert responses and all(m["via_proxy"] and m["url"].startswith(f"http://{onion}/") for m in responses)
        # The crawl log is clean: no CRITICAL line, no traceback.
        log = (manifest.parent / "crawl.log").read_text(encoding="utf-8")
        assert not [line for line in log.splitlines() if "CRITICAL" in line or "Traceback" in line], log[-3000:]
    finally:
        target.close()


def test_audit_hook_sees_lookups_and_connections(tmp_path):
    """The audit hook really observes the crawl's kind of traffic (so an empty record above is meaningful)."""
    out = tmp_path / "net-audit.jsonl"
    code = ("import socket\n"
            "socket.getaddrinfo('localhost', 80)\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
            "c = socket.socket(); c.connect(s.getsockname())\n")
    env = {"PYTHONPATH": str(NETAUDIT), "INTERDICT_TEST_NET_AUDIT": str(out)}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30, env=env)
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["event"] for e in events] == ["socket.getaddrinfo", "socket.bind", "socket.connect"]
    assert events[0]["target"] == "localhost" and events[2]["target"][0] == "127.0.0.1"


def test_socks_proxy_must_use_remote_dns():
    from crawlers.socks import SocksProxy
    assert SocksProxy.from_url("socks5h://127.0.0.1:9050").host == "127.0.0.1"
    with pytest.raises(ValueError, match="socks5h"):
        SocksProxy.from_url("socks5://127.0.0.1:9050")
    with pytest.raises(ValueError, match="IP address"):
        SocksProxy.from_url("socks5h://tor-proxy.internal:9050")
