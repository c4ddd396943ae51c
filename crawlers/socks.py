"""SOCKS5 for Scrapy, with remote DNS: hostnames (.onion above all) go to the proxy, never to a local resolver.

Why a download handler and not Privoxy: Scrapy's HTTP/1.1 handler is a Twisted `Agent` whose only seam for
"how to reach host:port" is the endpoint. We keep Scrapy's whole download path (timeouts, DOWNLOAD_MAXSIZE,
WARNSIZE, dataloss, TLS policy) and replace only the endpoint with `SOCKS5ClientEndpoint`, which connects to the
proxy *by IP* and sends CONNECT with ATYP=3 (domain name). No extra daemon to deploy or monitor (Privoxy would
be one more moving part between crawler and Tor, and a second place where DNS could leak), and the property
"nothing resolves .onion locally" is provable in-process (see tests/crawlers/test_crawl_tor.py).
Browser mode gives Chromium a PAC script (`chromium_pac_url`) that sends the site's domains to the same SOCKS5
proxy, where they are resolved too.
"""
from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from twisted.internet import defer, protocol
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.web.client import Agent

REPLIES = {
    1: "general SOCKS server failure", 2: "connection not allowed by ruleset", 3: "network unreachable",
    4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
    8: "address type not supported",
}


class SocksError(ConnectionError):
    """The SOCKS proxy refused or failed the CONNECT (message says why, as the proxy reported it)."""


@dataclass(frozen=True)
class SocksProxy:
    host: str           # an IP literal: the proxy itself must not need DNS either
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> "SocksProxy":
        """socks5h://[user:pass@]host:port. socks5:// (local DNS) is refused: it would leak hostnames."""
        parts = urlsplit(url)
        if parts.scheme != "socks5h":
            raise ValueError(f"{url!r}: use socks5h:// (hostnames resolved by the proxy, never locally)")
        if not parts.hostname or not parts.port:
            raise ValueError(f"{url!r}: needs host and port")
        host = parts.hostname
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise ValueError(f"{url!r}: give the proxy as an IP address (resolving it would use local DNS)")
            host = "127.0.0.1"
        return cls(host, parts.port, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


class _Socks5Protocol(protocol.Protocol):
    """Greets the proxy, authenticates if configured, CONNECTs by name, then hands the wire to `inner`."""

    def __init__(self, proxy: SocksProxy, host: bytes, port: int, inner_factory, ready: defer.Deferred):
        self.proxy, self.host, self.port = proxy, host, port
        self.inner_factory, self.ready = inner_factory, ready
        self.inner: protocol.Protocol | None = None
        self.buf = b""
        self.state = "greeting"

    def connectionMade(self):
        methods = b"\x00\x02" if self.proxy.username else b"\x00"
        self.transport.write(b"\x05" + bytes([len(methods)]) + methods)

    def _fail(self, message: str):
        self.state = "failed"
        self.transport.abortConnection()
        if not self.ready.called:
            self.ready.errback(SocksError(message))

    def _send_connect(self):
        try:
            ip = ipaddress.ip_address(self.host.decode("ascii"))
        except ValueError:
            ip = None
        if ip is None:
            if len(self.host) > 255:
                return self._fail("hostname too long for SOCKS5")
            addr = b"\x03" + bytes([len(self.host)]) + self.host     # ATYP=3: the proxy resolves it
        elif ip.version == 4:
            addr = b"\x01" + ip.packed
        else:
            addr = b"\x04" + ip.packed
        self.transport.write(b"\x05\x01\x00" + addr + struct.pack("!H", self.port))
        self.state = "connect"

    def dataReceived(self, data: bytes):
        if self.state == "open":
            self.inner.dataReceived(data)
            return
        self.buf += data
        if self.state == "greeting":
            if len(self.buf) < 2:
                return
            ver, method = self.buf[0], self.buf[1]
            self.buf = self.buf[2:]
            if ver != 5:
                return self._fail(f"not a SOCKS5 proxy at {self.proxy.host}:{self.proxy.port}")
            if method == 0x00:
                self._send_connect()
            elif method == 0x02 and self.proxy.username:
                user = self.proxy.username.encode()
                pw = (self.proxy.password or "").encode()
                self.transport.write(b"\x01" + bytes([len(user)]) + user + bytes([len(pw)]) + pw)
                self.state = "auth"
            else:
                return self._fail("SOCKS5 proxy accepts none of our authentication methods")
        if self.state == "auth":
            if len(self.buf) < 2:
                return
            status = self.buf[1]
            self.buf = self.buf[2:]
            if status != 0:
                return self._fail("SOCKS5 proxy rejected the username/password")
            self._send_connect()
        if self.state == "connect":
            if len(self.buf) < 5:
                return
            if self.buf[1] != 0:
                code = self.buf[1]
                return self._fail(f"SOCKS5 CONNECT to {self.host.decode(errors='replace')}:{self.port} failed: "
                                  f"{REPLIES.get(code, f'code {code}')}")
            atyp = self.buf[3]
            need = {1: 4 + 4 + 2, 4: 4 + 16 + 2, 3: 5 + self.buf[4] + 2}.get(atyp)
            if need is None:
                return self._fail("SOCKS5 proxy sent a malformed reply")
            if len(self.buf) < need:
                return
            rest = self.buf[need:]
            self.buf = b""
            self.state = "open"
            self.inner = self.inner_factory.buildProtocol(self.transport.getPeer())
            if self.inner is None:
                self.transport.loseConnection()
                return self.ready.errback(SocksError("protocol factory refused the connection"))
            self.inner.makeConnection(self.transport)
            self.ready.callback(self.inner)
            if rest:
                self.inner.dataReceived(rest)

    def connectionLost(self, reason):
        if self.inner is not None:
            self.inner.connectionLost(reason)
        elif not self.ready.called:
            self.ready.errback(SocksError(f"SOCKS5 proxy {self.proxy.host}:{self.proxy.port} closed the "
                                          f"connection during the handshake"))


class _Socks5Factory(protocol.ClientFactory):
    def __init__(self, proxy, host, port, inner_factory, ready):
        self.args = (proxy, host, port, inner_factory, ready)

    def buildProtocol(self, addr):
        return _Socks5Protocol(*self.args)


class SOCKS5ClientEndpoint:
    """IStreamClientEndpoint reaching host:port through a SOCKS5 proxy; the hostname is sent, not resolved."""

    def __init__(self, reactor, proxy: SocksProxy, host: bytes | str, port: int, timeout: float = 30):
        self.reactor, self.proxy, self.port, self.timeout = reactor, proxy, port, timeout
        self.host = host.encode("idna") if isinstance(host, str) else host

    def connect(self, protocolFactory):
        ready: defer.Deferred = defer.Deferred(canceller=lambda d: self._cancel())
        self._conn = None
        cls = TCP6ClientEndpoint if ":" in self.proxy.host else TCP4ClientEndpoint
        tcp = cls(self.reactor, self.proxy.host, self.proxy.port, timeout=self.timeout)
        factory = _Socks5Factory(self.proxy, self.host, self.port, protocolFactory, ready)
        self._conn = tcp.connect(factory)

        def connected(p):
            self._proto = p
        self._conn.addCallbacks(connected, lambda f: None if ready.called else ready.errback(f))
        return ready

    def _cancel(self):
        proto = getattr(self, "_proto", None)
        if proto is not None and proto.transport is not None:
            proto.transport.abortConnection()
        elif self._conn is not None:
            self._conn.cancel()


class SocksAgent(Agent):
    """A Twisted Agent whose every connection goes through the SOCKS5 proxy (TLS wrapped on top for https)."""

    def __init__(self, reactor, proxy: SocksProxy, contextFactory, connectTimeout=None, pool=None):
        super().__init__(reactor, contextFactory, connectTimeout, None, pool)
        self._proxy = proxy
        self._policy = contextFactory
        self._timeout = connectTimeout or 30

    def _getEndpoint(self, uri):
        ep = SOCKS5ClientEndpoint(self._reactor, self._proxy, uri.host, uri.port, timeout=self._timeout)
        if uri.scheme == b"https":
            return wrapClientTLS(self._policy.creatorForNetloc(uri.host, uri.port), ep)
        return ep

    def _requestWithEndpoint(self, key, endpoint, *args, **kwargs):
        return super()._requestWithEndpoint(key + ("socks5h", self._proxy.host, self._proxy.port),
                                            endpoint, *args, **kwargs)


@functools.lru_cache(maxsize=None)
def _handler_class():
    """Built lazily so importing this module does not import Scrapy's handler (and its reactor checks)."""
    from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
    from scrapy.utils._download_handlers import wrap_twisted_exceptions
    from scrapy.utils.defer import maybe_deferred_to_future

    class _SocksScrapyAgent(_ScrapyAgent):
        def __init__(self, *, socks_proxy: SocksProxy, **kw):
            super().__init__(**kw)
            self._socks_proxy = socks_proxy

        def _get_agent(self, request, timeout):
            from twisted.internet import reactor
            return SocksAgent(reactor, self._socks_proxy, self._contextFactory, connectTimeout=timeout,
                              pool=self._pool)

    class SocksDownloadHandler(HTTP11DownloadHandler):
        """Scrapy's HTTP/1.1 handler with every request tunnelled through INTERDICT_SOCKS_PROXY (socks5h).

        Configured per crawl, not per request, so no request of a Tor site can slip out directly.
        """

        def __init__(self, crawler):
            super().__init__(crawler)
            url = crawler.settings.get("INTERDICT_SOCKS_PROXY")
            self._socks_proxy = SocksProxy.from_url(url) if url else None

        async def download_request(self, request):
            if self._socks_proxy is None:
                return await super().download_request(request)
            agent = _SocksScrapyAgent(
                socks_proxy=self._socks_proxy,
                contextFactory=self._contextFactory, bindAddress=None, pool=self._pool,
                maxsize=self._default_maxsize, warnsize=self._default_warnsize,
                fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
                tls_verbose_logging=self._tls_verbose_logging)
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))

    return SocksDownloadHandler


@functools.lru_cache(maxsize=None)
def _browser_handler_class():
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
    socks_handler = _handler_class()

    class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
        """scrapy-playwright for browser pages; any other request (login form, robots.txt) of a SOCKS site goes
        through SocksDownloadHandler, never direct. Chromium itself gets the proxy at launch (crawlers.settings)."""

        def __init__(self, crawler):
            super().__init__(crawler)
            self._plain = socks_handler(crawler) if crawler.settings.get("INTERDICT_SOCKS_PROXY") else None

        async def download_request(self, request):
            if request.meta.get("playwright") or self._plain is None:
                return await super().download_request(request)
            return await self._plain.download_request(request)

        async def close(self):
            if self._plain is not None:
                await self._plain.close()
            await super().close()

    return BrowserDownloadHandler


def __getattr__(name):
    """Handlers are built on first use so importing this module never pulls in Scrapy/Playwright internals."""
    if name == "SocksDownloadHandler":
        return _handler_class()
    if name == "BrowserDownloadHandler":
        return _browser_handler_class()
    raise AttributeError(name)


def chromium_pac_url(proxy: SocksProxy, domains: list[str]) -> str:
    """A data: PAC URL: the site's domains (and subdomains) via SOCKS5, everything else to a dead port."""
    import base64
    import json
    script = (
        "function FindProxyForURL(url, host) {\n"
        f"  var allowed = {json.dumps([d.lower().lstrip('.') for d in domains])};\n"
        "  host = host.toLowerCase();\n"
        "  for (var i = 0; i < allowed.length; i++) {\n"
        "    if (host == allowed[i] || dnsDomainIs(host, '.' + allowed[i]))\n"
        f"      return 'SOCKS5 {proxy.host}:{proxy.port}';\n"
        "  }\n"
        "  return 'PROXY 127.0.0.1:9';\n"
        "}\n")
    return "data:application/x-ns-proxy-autoconfig;base64," + base64.b64encode(script.encode()).decode()


def is_onion(host: str | bytes) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return host.rstrip(".").lower().endswith(".onion")


__all__ = ["SocksProxy", "SocksError", "SOCKS5ClientEndpoint", "SocksAgent", "SocksDownloadHandler", "BrowserDownloadHandler",
           "is_onion"]
