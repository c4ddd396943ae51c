"""Fixture marketplaces served on 127.0.0.1 for tests, benchmarks and `make demo`.

    from crawlers.fixture_sites import start_site, start_all, start_socks_proxy, SITES
    shop = start_site("shop", port=0)        # SiteHandle: .url, .catalog, .edit_listing(), .delete_listing(), .stop()
    with start_all() as fx:                   # every site + the SOCKS5 proxy that maps the darkmarket's .onion
        os.environ.update(fx.env())           # INTERDICT_FIXTURE_*_URL, proxy URL, darkmarket credentials

Sites (ids = config/sites/<id>.yaml):
  shop        e-commerce, schema.org Product JSON-LD, ?page=N pagination          default port 8701
  b2b         chemical B2B marketplace: suppliers, CAS numbers, MOQ, WhatsApp/Telegram, EN + 中文   8702
  jsstore     JavaScript-only storefront: listings arrive from /api/products by fetch()      8703
  darkmarket  darknet-style market behind a login with an expiring session; only as <v3>.onion  8704
  faults      slow, 500, redirect loop, malformed, 50 MB, wrong charset, endless pagination  8705
The SOCKS5 proxy listens on 8709 by default (`interdict fixtures serve`).

Darkmarket demo credentials (fixed, public, fixture-only): DARKMARKET_USER / DARKMARKET_PASSWORD below; the
site YAML reads them from INTERDICT_DARKMARKET_USER / INTERDICT_DARKMARKET_PASSWORD.
The `truth` of each listing (flag, substance ids, CAS) is in data/<site>.yaml, never served; `truth(site)`.
Site configs: config/sites/{shop,b2b,jsstore,darkmarket}.yaml; the fault fixtures have theirs in
crawlers/fixture_sites/sites/ (faults.yaml, endless.yaml) so `make demo` never crawls broken pages.
Runtime edits for recrawl tests: handle.edit_listing(id, **fields), delete_listing(id), restore_listing(id);
deleted listings answer shop 404, b2b 200 + "THIS PRODUCT HAS BEEN <em>REMOVED</em>" (every b2b page carries
the plain phrase in a script, so only a match on the visible text, case-insensitive, is right), jsstore API 404 (page text
"This product is no longer available"), darkmarket 410, faults 410 — each with a removal text marker.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from .darkmarket import DARKMARKET_PASSWORD, DARKMARKET_USER
from .server import BIND_HOST, Site, SiteHandle
from .socks import SocksHandle, start_socks_proxy

DEFAULT_PORTS = {"shop": 8701, "b2b": 8702, "jsstore": 8703, "darkmarket": 8704, "faults": 8705}
DEFAULT_SOCKS_PORT = 8709
URL_ENV = {name: f"INTERDICT_FIXTURE_{name.upper()}_URL" for name in DEFAULT_PORTS}
SOCKS_ENV = "INTERDICT_FIXTURE_SOCKS_URL"


_CLASSES = {"shop": "shop:ShopSite", "b2b": "b2b:B2BSite", "jsstore": "jsstore:JsStoreSite",
            "darkmarket": "darkmarket:DarkmarketSite", "faults": "faults:FaultsSite"}


def site_class(name: str) -> type[Site]:
    if name not in _CLASSES:
        raise KeyError(f"unknown fixture site {name!r}; known: {', '.join(SITES)}")
    module, cls = _CLASSES[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


SITES = tuple(DEFAULT_PORTS)


def start_site(name: str, port: int = 0, **options) -> SiteHandle:
    """Start one site on 127.0.0.1:`port` (0 = a free port) in a background thread.

    Options per site: shop/b2b page_size; darkmarket session_ttl (seconds), username, password;
    faults max_sleep (seconds), huge_bytes.
    """
    site = site_class(name)(**options)
    return SiteHandle(site, port, public_url=site.public_url() if hasattr(site, "public_url") else None)


@dataclass
class FixtureSet:
    """All fixture sites plus the SOCKS5 proxy that is the darkmarket's only way in."""
    sites: dict[str, SiteHandle] = field(default_factory=dict)
    socks: SocksHandle | None = None

    def __getitem__(self, name: str) -> SiteHandle:
        return self.sites[name]

    def env(self) -> dict[str, str]:
        """Environment the site YAMLs read: fixture URLs, proxy URL, darkmarket credentials."""
        env = {URL_ENV[n]: h.url for n, h in self.sites.items() if n != "darkmarket"}
        if self.socks:
            env[SOCKS_ENV] = self.socks.url
        env["INTERDICT_DARKMARKET_USER"] = DARKMARKET_USER
        env["INTERDICT_DARKMARKET_PASSWORD"] = DARKMARKET_PASSWORD
        return env

    def stop(self) -> None:
        if self.socks:
            self.socks.stop()
        for h in self.sites.values():
            h.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_all(names=SITES, ports: dict[str, int] | None = None, socks_port: int = 0,
              options: dict[str, dict] | None = None) -> FixtureSet:
    """Start several sites (free ports unless `ports` says otherwise) and, if the darkmarket is among them,
    the SOCKS5 proxy mapping its .onion host to it."""
    fx = FixtureSet()
    try:
        for n in names:
            fx.sites[n] = start_site(n, (ports or {}).get(n, 0), **(options or {}).get(n, {}))
        if "darkmarket" in fx.sites:
            dm = fx.sites["darkmarket"]
            fx.socks = start_socks_proxy({dm.site.onion: (dm.host, dm.port)}, port=socks_port)
    except BaseException:
        fx.stop()
        raise
    return fx


def truth(name: str) -> dict[str, dict]:
    """What end-to-end tests expect per listing id: title, flag, substance ids (nlp/data/substances.csv) and
    CAS numbers, straight from data/<site>.yaml (the served catalogue before any runtime edit)."""
    from .server import load_data
    site_class(name)  # unknown names fail the same way everywhere
    return {x["id"]: {"title": x.get("title") or x.get("name_en") or x.get("name_zh"), **x["truth"]}
            for x in load_data(name)["listings"]}


def demo_env() -> dict[str, str]:
    """The environment for the default ports of `interdict fixtures serve` (what make demo uses)."""
    env = {URL_ENV[n]: f"http://{BIND_HOST}:{p}" for n, p in DEFAULT_PORTS.items() if n != "darkmarket"}
    env[SOCKS_ENV] = f"socks5h://{BIND_HOST}:{DEFAULT_SOCKS_PORT}"
    env["INTERDICT_DARKMARKET_USER"] = DARKMARKET_USER
    env["INTERDICT_DARKMARKET_PASSWORD"] = DARKMARKET_PASSWORD
    return env


__all__ = ["SITES", "DEFAULT_PORTS", "DEFAULT_SOCKS_PORT", "DARKMARKET_USER", "DARKMARKET_PASSWORD",
           "URL_ENV", "SOCKS_ENV", "start_site", "start_all", "start_socks_proxy", "demo_env", "truth",
           "FixtureSet", "SiteHandle", "SocksHandle"]
