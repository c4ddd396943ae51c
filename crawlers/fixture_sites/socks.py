"""A tiny SOCKS5 server (RFC 1928) standing in for Tor: it maps .onion names to local fixture ports.

Like Tor it takes ATYP=domain requests (remote DNS, the `socks5h://` convention) and never resolves a name
itself: a mapped .onion goes to its 127.0.0.1 port, an unmapped .onion gets "host unreachable" (as Tor
answers for an unknown hidden service), and every other destination is refused by rule. It never connects
anywhere but 127.0.0.1. Every request is recorded in `.connections`, so tests can prove that all darknet
traffic went through the proxy and no .onion name reached the local resolver.
"""
from __future__ import annotations

import ipaddress
import select
import socket
import socketserver
import struct
import threading

from .server import BIND_HOST, ServingHandle, shutdown_sockets

REP_OK, REP_FAIL, REP_RULESET, REP_HOST_UNREACHABLE, REP_REFUSED, REP_CMD, REP_ATYP = 0, 1, 2, 4, 5, 7, 8
RELAY_IDLE_TIMEOUT = 120.0


class _SocksHandler(socketserver.BaseRequestHandler):
    def handle(self):
        srv: _SocksServer = self.server
        conn: socket.socket = self.request
        conn.settimeout(30)
        upstream = None
        try:
            head = _recv_exact(conn, 2)
            if head[0] != 5:
                return
            methods = _recv_exact(conn, head[1])
            if 0 in methods:
                conn.sendall(b"\x05\x00")
            elif 2 in methods:  # username/password: Tor uses it for stream isolation; any value is fine
                conn.sendall(b"\x05\x02")
                sub = _recv_exact(conn, 2)
                _recv_exact(conn, sub[1])
                plen = _recv_exact(conn, 1)[0]
                _recv_exact(conn, plen)
                conn.sendall(b"\x01\x00")
            else:
                conn.sendall(b"\x05\xff")
                return
            ver, cmd, _rsv, atyp = _recv_exact(conn, 4)
            if ver != 5:
                return
            if atyp == 1:
                host = socket.inet_ntop(socket.AF_INET, _recv_exact(conn, 4))
            elif atyp == 3:
                host = _recv_exact(conn, _recv_exact(conn, 1)[0]).decode("ascii", "replace")
            elif atyp == 4:
                host = socket.inet_ntop(socket.AF_INET6, _recv_exact(conn, 16))
            else:
                return _reply(conn, REP_ATYP)
            port = struct.unpack("!H", _recv_exact(conn, 2))[0]
            host = host.lower().rstrip(".")
            srv.record(host, port, atyp)
            if cmd != 1:
                return _reply(conn, REP_CMD)
            target = srv.onion_map.get(host)
            if target is None:
                srv.record_refused(host, port)
                return _reply(conn, REP_HOST_UNREACHABLE if host.endswith(".onion") else REP_RULESET)
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            upstream.settimeout(10)
            try:
                upstream.connect(target)  # numeric 127.x address: no resolver involved
            except OSError:
                return _reply(conn, REP_REFUSED)
            _reply(conn, REP_OK)
            srv.track(conn, upstream)
            _relay(conn, upstream)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            srv.untrack(conn, upstream)
            if upstream is not None:
                upstream.close()


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("socks client closed the connection")
        buf += chunk
    return buf


def _reply(conn: socket.socket, code: int) -> None:
    conn.sendall(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))


def _relay(a: socket.socket, b: socket.socket) -> None:
    a.settimeout(None)
    b.settimeout(None)
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select([a, b], [], [], RELAY_IDLE_TIMEOUT)
        if not readable:
            return
        for s in readable:
            data = s.recv(65536)
            if not data:
                return
            peers[s].sendall(data)


class _SocksServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, onion_map: dict[str, tuple[str, int]], port: int):
        self.onion_map = {}
        for name, (ip, p) in onion_map.items():
            if not ipaddress.ip_address(ip).is_loopback:
                raise ValueError(f"fixture SOCKS proxy only connects to loopback, not {ip}")
            self.onion_map[name.lower()] = (ip, int(p))
        self.lock = threading.Lock()
        self.connections: list[tuple[str, int]] = []
        self.refused: list[tuple[str, int]] = []
        self.address_types: list[int] = []
        self._live: set[socket.socket] = set()
        super().__init__((BIND_HOST, port), _SocksHandler)

    def record(self, host: str, port: int, atyp: int) -> None:
        with self.lock:
            self.connections.append((host, port))
            self.address_types.append(atyp)

    def record_refused(self, host: str, port: int) -> None:
        with self.lock:
            self.refused.append((host, port))

    def track(self, *socks) -> None:
        with self.lock:
            self._live.update(socks)

    def untrack(self, *socks) -> None:
        with self.lock:
            self._live.difference_update(s for s in socks if s is not None)

    def close_connections(self) -> None:
        with self.lock:
            live = list(self._live)
        shutdown_sockets(live)


class SocksHandle(ServingHandle):
    """A running proxy: `.url` (socks5h://127.0.0.1:PORT), `.connections`, `.refused`, `.stop()`."""

    def __init__(self, server: _SocksServer):
        self.host, self.port = server.server_address[:2]
        self.url = f"socks5h://{self.host}:{self.port}"
        self._serve(server, "fixture-socks")

    @property
    def onion_map(self) -> dict[str, tuple[str, int]]:
        return dict(self.server.onion_map)

    @property
    def connections(self) -> list[tuple[str, int]]:
        """Every CONNECT requested, as (host, port), mapped or not, in order."""
        with self.server.lock:
            return list(self.server.connections)

    @property
    def refused(self) -> list[tuple[str, int]]:
        with self.server.lock:
            return list(self.server.refused)

    @property
    def domain_requests(self) -> int:
        """How many requests named a host (ATYP=domain) rather than an IP the client resolved itself."""
        with self.server.lock:
            return sum(1 for a in self.server.address_types if a == 3)

    def count(self, host: str) -> int:
        return sum(1 for h, _ in self.connections if h == host.lower())



def start_socks_proxy(onion_map: dict[str, tuple[str, int]], port: int = 0) -> SocksHandle:
    """Start the proxy on 127.0.0.1:`port` (0 = free port). onion_map: {"<56 chars>.onion": ("127.0.0.1", port)}."""
    return SocksHandle(_SocksServer(onion_map, port))


def open_via_socks(proxy_url: str, host: str, port: int, timeout: float = 10.0) -> socket.socket:
    """Client side: a socket to host:port through a SOCKS5 proxy, sending the *name* (ATYP=domain), never
    resolving it locally. For tests and `interdict fixtures` diagnostics; raises ConnectionError with the
    SOCKS reply code when the proxy refuses."""
    rest = proxy_url.split("://", 1)[-1].rstrip("/")
    phost, pport = rest.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((str(ipaddress.ip_address(phost)), int(pport)))
        sock.sendall(b"\x05\x01\x00")
        if _recv_exact(sock, 2) != b"\x05\x00":
            raise ConnectionError("SOCKS5 proxy refused the no-auth method")
        name = host.encode("idna")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", port))
        reply = _recv_exact(sock, 10)
        if reply[1] != REP_OK:
            raise ConnectionError(f"SOCKS5 reply {reply[1]} for {host}:{port}")
        return sock
    except BaseException:
        sock.close()
        raise
