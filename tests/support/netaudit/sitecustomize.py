"""Test-only: with INTERDICT_TEST_NET_AUDIT=<file> set, every process started with this directory on PYTHONPATH
appends one JSON line per name lookup and per socket connect/bind/sendto to <file> (tests/crawlers/test_crawl_tor.py).

Python audit hooks (PEP 578) fire inside the socket module's C code, so no library can reach the network
around them, whatever resolver or socket API it uses; the hook is installed before any import of the crawl.
"""
import json
import os
import sys

_OUT = os.environ.get("INTERDICT_TEST_NET_AUDIT")
_LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
            "socket.getnameinfo")
_SOCKET_OPS = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg")


def _address(addr):
    if isinstance(addr, tuple):
        return [a.decode("ascii", "replace") if isinstance(a, bytes) else a for a in addr[:2]]
    return addr.decode("ascii", "replace") if isinstance(addr, bytes) else str(addr)


def _hook(event, args):
    if event in _LOOKUPS:
        target = _address(args[0]) if event == "socket.getnameinfo" else _address((args[0],))[0]
    elif event in _SOCKET_OPS:
        if args[1] is None:      # sendmsg on a connected socket: its connect was recorded
            return
        target = _address(args[1])
    else:
        return
    caller = sys._getframe(1).f_code      # the Python function that called into the socket module
    line = json.dumps({"event": event, "target": target, "pid": os.getpid(),
                       "caller": f"{caller.co_filename}:{caller.co_name}"})
    with open(_OUT, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


if _OUT:
    sys.addaudithook(_hook)
