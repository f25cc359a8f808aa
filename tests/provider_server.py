"""A small HTTP server on loopback standing in for a provider's API (Graph,
Telegram, Twilio): it records every request and answers from a table of routes."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# How often the serving loop looks for a stop request: stop() waits up to this
# long (half a second by default, paid by every test that stops a server).
POLL_SECONDS = 0.05


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict | list = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        return (
            self.body
            if isinstance(self.body, bytes)
            else json.dumps(self.body).encode()
        )


class ProviderServer:
    """Routes map (method, path prefix) to a Reply or to a callable of the request."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.routes: dict[tuple[str, str], object] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                server.requests.append(request)
                reply = server.reply_for(request)
                payload = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format, *args) -> None:  # keep test output quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(POLL_SECONDS,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path_prefix: str, reply) -> None:
        self.routes[(method.upper(), path_prefix)] = reply

    def reply_for(self, request: RecordedRequest) -> Reply:
        matches = [
            (prefix, reply)
            for (method, prefix), reply in self.routes.items()
            if method == request.method and request.path.startswith(prefix)
        ]
        if not matches:
            return Reply(status=404, body={"error": f"no route for {request.path}"})
        _, reply = max(matches, key=lambda match: len(match[0]))
        return reply(request) if callable(reply) else reply

    def start(self) -> "ProviderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
