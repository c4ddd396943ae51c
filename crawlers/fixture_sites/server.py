"""The small HTTP machinery every fixture site shares: request/response objects, a threaded server bound to
127.0.0.1, and the `SiteHandle` tests hold (URL, mutable catalog, edit/delete, stop).

Stdlib only (http.server), so tests and `make demo` start sites in-process on port 0 in milliseconds.
A site is a `Site` subclass with `routes` (regex -> method name) and a catalog of listings loaded from
data/<site>.yaml; the server never binds anything but 127.0.0.1.
"""
from __future__ import annotations

import copy
import http.cookies
import re
import select
import socket
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, urlsplit

from index import yamlfile

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
BIND_HOST = "127.0.0.1"   # never anything else: fixtures are reachable from this machine only
IDLE_TIMEOUT = 30.0       # a keep-alive connection idle this long is closed, so threads never pile up


# ---------------------------------------------------------------------------------------------- request/response

@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    cookies: dict[str, str]
    form: dict[str, str]
    raw_path: str
    connection: socket.socket | None = None
    session: dict | None = None        # set by sites with a login wall

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)

    def int_arg(self, name: str, default: int) -> int:
        try:
            return int(self.query.get(name, default))
        except (TypeError, ValueError):
            return default

    @property
    def host(self) -> str:
        return (self.headers.get("Host") or "").strip().lower()

    def client_gone(self) -> bool:
        """True when the client closed its end (a crawler that timed out): slow pages stop early."""
        if self.connection is None:
            return False
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


@dataclass
class Response:
    status: int = 200
    body: bytes | str | Iterable[bytes] = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int | None = None          # for streamed bodies: declared Content-Length (None = until close)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> "Response":
        return cls(status=status, body=f'<a href="{location}">moved</a>', headers=[("Location", location)])

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> "Response":
        return cls(status=status, body=text, content_type=content_type)


def _parse_cookies(header: str | None) -> dict[str, str]:
    jar = http.cookies.SimpleCookie()
    try:
        jar.load(header or "")
    except http.cookies.CookieError:
        return {}
    return {k: m.value for k, m in jar.items()}


def _flat(qs: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in qs.items() if v}


# ---------------------------------------------------------------------------------------------- site base

def load_data(name: str) -> dict:
    return yamlfile.load_file(DATA_DIR / f"{name}.yaml")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each re-flowed onto one line."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


_jinja_env = None


def render(template: str, **context) -> str:
    """Render templates/<template> with autoescaping (listing text is data, never markup)."""
    global _jinja_env
    if _jinja_env is None:
        import jinja2
        _jinja_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                                        autoescape=True, trim_blocks=True, lstrip_blocks=True)
        _jinja_env.filters["paragraphs"] = paragraphs
    return _jinja_env.get_template(template).render(**context)


class Site:
    """One fixture marketplace. Subclasses set `name`, `routes` and render pages from `self.catalog`.

    `catalog` maps listing id -> dict of fields (the truth tests assert against); `removed` holds ids deleted
    at runtime, which each site answers in its own realistic way (404, 410 or a removal-notice page).
    """
    name = "site"
    routes: list[tuple[str, str]] = []
    listing_fields: tuple[str, ...] = ()

    def __init__(self, **options):
        self.options = options
        self.lock = threading.RLock()
        data = load_data(self.name)
        self.data = data
        self.catalog: dict[str, dict] = {item["id"]: item for item in data.get("listings", [])}
        self.removed: dict[str, dict] = {}
        self.base_url = ""          # set by the handle once the port is known
        self._compiled = [(re.compile(rx + r"\Z"), meth) for rx, meth in self.routes]

    # ---- catalog mutations (recrawl tests)
    def listing(self, listing_id: str) -> dict | None:
        with self.lock:
            return self.catalog.get(listing_id)

    def listings(self, **where) -> list[dict]:
        with self.lock:
            return [x for x in self.catalog.values() if all(x.get(k) == v for k, v in where.items())]

    def edit_listing(self, listing_id: str, **fields) -> dict:
        with self.lock:
            if listing_id not in self.catalog:
                raise KeyError(f"{self.name}: no listing {listing_id!r}")
            unknown = set(fields) - set(self.catalog[listing_id]) - set(self.listing_fields)
            if unknown:
                raise KeyError(f"{self.name}: unknown listing field(s) {sorted(unknown)}")
            self.catalog[listing_id].update(fields)
            return copy.deepcopy(self.catalog[listing_id])

    def delete_listing(self, listing_id: str) -> dict:
        with self.lock:
            item = self.catalog.pop(listing_id)
            self.removed[listing_id] = item
            return item

    def restore_listing(self, listing_id: str) -> None:
        with self.lock:
            self.catalog[listing_id] = self.removed.pop(listing_id)

    def add_listing(self, item: dict) -> None:
        with self.lock:
            if item["id"] in self.catalog:
                raise KeyError(f"{self.name}: listing {item['id']!r} exists")
            self.catalog[item["id"]] = dict(item)

    def listing_path(self, listing_id: str) -> str:
        """Path of a listing's own page (each site has its own URL scheme)."""
        raise NotImplementedError

    # ---- dispatch
    def dispatch(self, req: Request) -> Response:
        for rx, meth in self._compiled:
            m = rx.match(req.path)
            if m:
                return getattr(self, meth)(req, **m.groupdict())
        return self.not_found(req)

    def not_found(self, req: Request) -> Response:
        return Response(404, "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>")

    def static(self, req: Request, path: str) -> Response:
        """Files under static/<site>/ (scripts, css, placeholder images)."""
        base = (STATIC_DIR / self.name).resolve()
        target = (base / path).resolve()
        if base not in target.parents or not target.is_file():
            return self.not_found(req)
        types = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".svg": "image/svg+xml"}
        return Response(body=target.read_bytes(), content_type=types.get(target.suffix, "application/octet-stream"),
                        headers=[("Cache-Control", "max-age=300")])


# ---------------------------------------------------------------------------------------------- server

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body are separate writes: Nagle + delayed ACK stall ~40 ms
    server_version = "nginx/1.24.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def log_message(self, format, *args):  # quiet: tests read handle.requests instead
        pass

    def _serve(self):
        site: Site = self.server.site
        parts = urlsplit(self.path)
        form = {}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(min(length, 1_000_000))
            if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                form = _flat(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        req = Request(method=self.command, path=parts.path or "/", query=_flat(parse_qs(parts.query)),
                      headers=self.headers, cookies=_parse_cookies(self.headers.get("Cookie")), form=form,
                      raw_path=self.path, connection=self.connection)
        self.server.requests.append((self.command, self.path, self.headers.get("Host", "")))
        try:
            resp = site.dispatch(req)
        except Exception as exc:  # a fixture bug must show up as a 500, not a hung connection
            resp = Response(500, f"<h1>Internal Server Error</h1><pre>{type(exc).__name__}</pre>")
        if self.server.latency:
            time.sleep(self.server.latency)     # a real site's time to first byte (benchmarks)
        self._write(resp)

    def _write(self, resp: Response):
        body = resp.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers:
            self.send_header(k, v)
        if isinstance(body, (bytes, bytearray)):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (timeout): nothing to do
            return
        # streamed body: declared length or until close
        if resp.length is not None:
            self.send_header("Content-Length", str(resp.length))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            for chunk in body:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the crawler aborted the download: exactly what a size limit should do
        finally:
            close = getattr(body, "close", None)
            if close:
                close()

    do_GET = do_POST = do_HEAD = _serve


class FixtureHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, site: Site, port: int):
        self.site = site
        self.latency = 0.0              # seconds added before each response (benchmarks set it)
        self.requests: deque = deque(maxlen=20000)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__((BIND_HOST, port), _Handler)

    def handle_error(self, request, client_address):
        import sys
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # clients hanging up or idling out are normal for a crawler fixture
        super().handle_error(request, client_address)

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        with self._conns_lock:
            conns = list(self._conns)
        shutdown_sockets(conns)


def shutdown_sockets(socks) -> None:
    """Wake every handler thread blocked on these sockets, so a stop never waits on a slow client."""
    for c in socks:
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ServingHandle:
    """A server running on its own thread; `stop()` ends it and every open connection (also via `with`)."""

    def _serve(self, server, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SiteHandle(ServingHandle):
    """A running fixture site: `.url` (no trailing slash), `.catalog`, `.edit_listing()`, `.stop()`."""

    def __init__(self, site: Site, port: int = 0, public_url: str | None = None):
        self.site = site
        server = FixtureHTTPServer(site, port)
        self.host, self.port = server.server_address[:2]
        self.local_url = f"http://{self.host}:{self.port}"
        self.url = public_url or self.local_url
        site.base_url = self.url
        self._serve(server, f"fixture-{site.name}")

    name = property(lambda self: self.site.name)
    catalog = property(lambda self: self.site.catalog)
    removed = property(lambda self: self.site.removed)

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """(method, path, Host header) of every request served, oldest first."""
        return list(self.server.requests)

    def set_latency(self, seconds: float) -> None:
        """Delay every response by `seconds`, like a real site's time to first byte (loopback has none)."""
        self.server.latency = max(0.0, float(seconds))

    def edit_listing(self, listing_id: str, **fields) -> dict:
        return self.site.edit_listing(listing_id, **fields)

    def delete_listing(self, listing_id: str) -> dict:
        return self.site.delete_listing(listing_id)

    def restore_listing(self, listing_id: str) -> None:
        self.site.restore_listing(listing_id)

    def add_listing(self, item: dict) -> None:
        self.site.add_listing(item)

    def listing_url(self, listing_id: str) -> str:
        return self.url + self.site.listing_path(listing_id)

    def __repr__(self):
        return f"<SiteHandle {self.name} {self.url}>"

