"""Real local receivers for alert tests: an HTTP webhook endpoint on 127.0.0.1 that checks the HMAC signature the
way a subscriber would, and an SMTP server (aiosmtpd)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.live_server import free_port


class WebhookReceiver:
    """POST /hook (signed with `secret`, timestamp at most `tolerance` s old) and /slack ({"text": ...}).

    `fail_next` = how many requests to answer 503 before accepting again (to exercise retries)."""

    def __init__(self, secret: str, tolerance: int = 300):
        self.secret, self.tolerance = secret.encode(), tolerance
        self.hooks: list[dict] = []
        self.slack: list[dict] = []
        self.rejected: list[str] = []
        self.fail_next = 0
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests += 1
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    return self._answer(503)
                if self.path == "/slack":
                    receiver.slack.append(json.loads(body))
                    return self._answer(200)
                problem = receiver.check(self.headers, body)
                if problem:
                    receiver.rejected.append(problem)
                    return self._answer(401)
                receiver.hooks.append(json.loads(body))
                self._answer(204)

            def _answer(self, code):
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def check(self, headers, body: bytes) -> str | None:
        ts, sig = headers.get("X-Interdict-Timestamp"), headers.get("X-Interdict-Signature", "")
        if not ts or abs(time.time() - int(ts)) > self.tolerance:
            return "stale or missing timestamp"
        want = "sha256=" + hmac.new(self.secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(want, sig) else "bad signature"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """aiosmtpd on 127.0.0.1: every accepted message, parsed."""

    def __init__(self):
        self.messages = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()
