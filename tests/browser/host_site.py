"""A customer's web site on loopback that embeds the desk's chat widget.

The site is reached as http://localhost:<port>, the desk as http://127.0.0.1:<port>:
two origins (and two sites) on one machine, as a shop and its help desk are.
"""

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# How often the serving loop looks for a stop request: stop() waits up to this
# long (half a second by default, paid by every test that stops a server).
POLL_SECONDS = 0.05

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Acme outdoor shop</title>
  <style>
    body {{ margin: 0; font: 16px/1.5 Georgia, serif; color: #1d2b1f;
           background: #f4f1e8; }}
    header {{ padding: 18px 40px; background: #2f4f3a; color: #fff; }}
    header h1 {{ margin: 0; font-size: 24px; }}
    main {{ padding: 24px 40px; max-width: 640px; }}
    .product {{ padding: 16px; margin-bottom: 16px; background: #fff;
               border: 1px solid #d8d2c0; border-radius: 6px; }}
  </style>
</head>
<body>
  <header><h1>Acme outdoor shop</h1></header>
  <main>
    <div class="product"><h2>Trail tent, 2 persons</h2>
      <p>Light, quick to pitch, stands up to wind and rain. 189 EUR</p></div>
    <div class="product"><h2>Down sleeping bag</h2>
      <p>Comfortable down to -5 °C, packs to the size of a loaf. 149 EUR</p></div>
  </main>
  <script src="{loader}"{attributes} async></script>
</body>
</html>
"""


def embed_page(desk_url: str, inbox: str, **attributes: str) -> str:
    """The site's page with the one script tag; attributes become data-* ones
    (user_id="7" → data-user-id="7")."""
    extra = "".join(
        f' data-{name.replace("_", "-")}="{html.escape(str(value))}"'
        for name, value in {"inbox": inbox, **attributes}.items()
    )
    return PAGE.format(
        loader=html.escape(f"{desk_url}/static/widget/loader.js"), attributes=extra
    )


class HostSite:
    """Serves `pages` (path → HTML) at http://localhost:<port>."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = site.pages.get(self.path.split("?")[0])
                body = (page or "not found").encode()
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://localhost:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), daemon=True
        )

    def start(self) -> "HostSite":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/") -> str:
        return f"{self.origin}{path}"
