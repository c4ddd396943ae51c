"""Scrapy settings for one crawl, derived from the site config: the one place site fields become Scrapy knobs."""
from __future__ import annotations

import os

from crawlers.siteconfig import SiteConfig

CHROMIUM = os.environ.get("INTERDICT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Chromium phones home (updates, autofill, sign-in, safe browsing) on its own; through Tor that would be
# traffic nobody asked for, so every such service is off (the no-leak test checks the proxy's CONNECT log).
CHROMIUM_QUIET_ARGS = [
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate,"
    "NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,"
    "PrivacySandboxSettings4,AccountConsistency,ChromeSignin,DiceWebSigninInterception,HttpsUpgrades",
    "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings",
    "--disable-default-apps", "--disable-extensions", "--metrics-recording-only", "--disable-breakpad",
    "--safebrowsing-disable-auto-update", "--no-service-autorun", "--password-store=basic",
    "--disable-sync-preferences", "--disable-signin-promo"]
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Scrapy starts CONCURRENT_ITEMS worker tasks for the output of every response (default 100). A page yields one
# listing, an inline index page a few dozen, and the pipelines return at once (batches work off-reactor), so
# 16 loses no parallelism and saves ~0.8 ms of reactor CPU per page (benchmarks/crawl_throughput.py).
CONCURRENT_ITEMS = 16


def crawl_settings(site: SiteConfig, *, options=None, log_level: str = "WARNING", batch_size: int = 50) -> dict:
    """`options` (crawlers.runstate.RunOptions) is how the run extension learns what to open."""
    p, lim = site.politeness, site.limits
    s: dict = {
        "BOT_NAME": "interdict",
        "USER_AGENT": p.user_agent or USER_AGENT,
        "ROBOTSTXT_OBEY": site.obey_robots,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "LOG_LEVEL": log_level,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,   # Scrapy's code-execution HTTP server: a listening socket per crawl
        "COOKIES_ENABLED": True,
        # politeness
        "DOWNLOAD_DELAY": p.delay,
        "RANDOMIZE_DOWNLOAD_DELAY": p.delay > 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": p.concurrency_per_domain,
        "CONCURRENT_REQUESTS": max(8, p.concurrency_per_domain),
        "CONCURRENT_ITEMS": CONCURRENT_ITEMS,
        "AUTOTHROTTLE_ENABLED": p.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(p.delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": max(10.0, lim.timeout),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": p.autothrottle_target_concurrency,
        # bounds: every fault page ends within these
        "DOWNLOAD_TIMEOUT": lim.timeout,
        "DOWNLOAD_MAXSIZE": lim.max_response_bytes,
        "DOWNLOAD_WARNSIZE": min(lim.warn_response_bytes, lim.max_response_bytes),
        "REDIRECT_MAX_TIMES": lim.max_redirects,
        "RETRY_TIMES": lim.retries,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        # Scrapy reads DEPTH_LIMIT 0 as "no limit"; -1 drops every followed link, which is what max_depth 0 means.
        "DEPTH_LIMIT": lim.max_depth or -1,
        "CLOSESPIDER_PAGECOUNT": lim.max_pages,       # a resumed run: what is left (RunExtension)
        "CLOSESPIDER_TIMEOUT": lim.max_run_time or 0,
        "CLOSESPIDER_ITEMCOUNT": lim.max_items or 0,     # a resumed run: what is left (RunExtension)
        "MEMUSAGE_ENABLED": False,
        # components: the add-on enables ours (crawlers/addon.py)
        "ADDONS": {"crawlers.addon.InterdictAddon": 0},
        "INTERDICT_RUN_OPTIONS": options,
        "INTERDICT_BATCH_SIZE": batch_size,
    }
    proxy = site.network.proxy_url()
    socks = proxy if proxy and proxy.startswith("socks5") else None
    if proxy:
        s["INTERDICT_PROXY_LABEL"] = proxy.split("@")[-1]
    if socks:
        from crawlers.socks import SocksProxy
        SocksProxy.from_url(socks)     # fail before crawling on a proxy that would need local DNS
        s["INTERDICT_SOCKS_PROXY"] = socks
    if site.render.mode == "browser":
        handler = "crawlers.socks.BrowserDownloadHandler"
        s["DOWNLOAD_HANDLERS"] = {"http": handler, "https": handler}
        launch = {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS + CHROMIUM_QUIET_ARGS,
                  "timeout": 30_000}
        if socks:
            from crawlers.socks import SocksProxy, chromium_pac_url
            sp = SocksProxy.from_url(socks)
            # A PAC script sends the site's own domains to the SOCKS5 proxy (names resolved there) and every
            # other host (Chromium's own services, third-party page resources) to a dead local port, so
            # nothing but the site's traffic leaves. Chromium itself never resolves a name: everything maps
            # to NOTFOUND, so even a bug elsewhere cannot leak a .onion lookup.
            launch["args"] += [f"--proxy-pac-url={chromium_pac_url(sp, site.allowed_domains)}",
                               f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {sp.host}",
                               "--proxy-bypass-list=<-loopback>"]
        elif proxy:
            launch["proxy"] = {"server": proxy}
            launch["args"].append("--proxy-bypass-list=<-loopback>")
        s.update({
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": lim.timeout * 1000,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": p.concurrency_per_domain,
            "PLAYWRIGHT_MAX_CONTEXTS": 1,
        })
    elif socks:
        handler = "crawlers.socks.SocksDownloadHandler"
        s["DOWNLOAD_HANDLERS"] = {"http": handler, "https": handler}
    return s


def offline_public_suffixes() -> None:
    """Scrapy's cookie middleware splits domains with tldextract, which by default downloads the Public Suffix
    List (local DNS + clearnet HTTPS) on first use: a leak outside the SOCKS proxy of a Tor crawl. The crawl
    process uses tldextract's bundled snapshot instead, with no download and no cache, whatever the network."""
    from scrapy.downloadermiddlewares import cookies
    from tldextract import TLDExtract
    cookies._split_domain = TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True,
                                       include_psl_private_domains=True)
