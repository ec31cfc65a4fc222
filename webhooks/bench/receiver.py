"""A tiny local webhook receiver that verifies every signature with the `standardwebhooks`
package (the fan-out benchmark's far end). Keep-alive HTTP/1.1, one thread per connection."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class VerifyingReceiver:
    def __init__(self) -> None:
        self.verifier: Webhook | None = None
        self.ok = 0
        self.bad = 0
        self.ids: set[str] = set()
        self.last_at = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    receiver.verifier.verify(body, headers)
                    good = True
                except (WebhookVerificationError, AttributeError):
                    good = False
                with receiver.lock:
                    if good:
                        receiver.ok += 1
                        receiver.ids.add(headers.get("webhook-id", ""))
                    else:
                        receiver.bad += 1
                    receiver.last_at = time.monotonic()
                self.send_response(204 if good else 400)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verify_with(self, secret: str) -> None:
        self.verifier = Webhook(secret)

    def __enter__(self) -> "VerifyingReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
