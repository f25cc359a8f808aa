import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from channels_app.meta_graph import (
    GraphClient,
    GraphError,
    MediaRefusedError,
    download,
    media_type_allowed,
    media_url_allowed,
)
from tests.provider_server import Reply


@pytest.fixture
def streaming_server():
    """Serves 5,000 bytes of image/jpeg without announcing a length."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"y" * 100)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/photo.jpg"
    server.shutdown()
    server.server_close()


def test_a_download_is_cut_off_at_the_limit_when_no_length_is_announced(
    streaming_server, settings
):
    settings.MAX_MEDIA_BYTES = 1000
    with pytest.raises(MediaRefusedError, match="1000-byte limit"):
        download(streaming_server)

    settings.MAX_MEDIA_BYTES = 5000
    assert download(streaming_server).content == b"y" * 5000


@pytest.mark.parametrize(
    "content_type, allowed",
    [
        ("image/jpeg", True),
        ("audio/ogg; codecs=opus", True),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            True,
        ),
        ("image/svg+xml", False),
        ("text/html", False),
        ("", False),
    ],
)
def test_only_the_allowed_media_types_pass(content_type, allowed):
    assert media_type_allowed(content_type) is allowed


def test_only_web_urls_are_downloaded():
    with pytest.raises(MediaRefusedError):
        download("file:///etc/passwd")


def test_graph_errors_carry_the_providers_words_and_say_whether_to_retry(graph):
    graph.route(
        "GET",
        "/v21.0/gone",
        Reply(
            status=400,
            body={
                "error": {
                    "message": "Unsupported get request.",
                    "code": 100,
                    "error_data": {"details": "Object 123 does not exist"},
                }
            },
        ),
    )
    graph.route(
        "GET",
        "/v21.0/busy",
        Reply(status=429, body={"error": {"message": "Too many calls", "code": 80007}}),
    )
    client = GraphClient("token")

    with pytest.raises(GraphError) as gone:
        client.get("gone")
    with pytest.raises(GraphError) as busy:
        client.get("busy")

    assert str(gone.value) == (
        "Unsupported get request: Object 123 does not exist (code 100)"
    )
    assert gone.value.permanent is True
    assert busy.value.permanent is False


def test_an_unreachable_graph_is_a_retryable_error(settings):
    settings.GRAPH_API_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(GraphError) as unreachable:
        GraphClient("token").get("anything")

    assert unreachable.value.permanent is False


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://scontent.xx.fbcdn.net/v/t1/photo.jpg?oh=1", True),
        ("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", True),
        ("https://graph.facebook.com/v21.0/123", True),
        ("http://scontent.xx.fbcdn.net/photo.jpg", False),
        ("https://fbcdn.net.attacker.test/photo.jpg", False),
        ("https://evilfbcdn.net/photo.jpg", False),
        ("https://169.254.169.254/latest/meta-data/", False),
        ("http://graph.facebook.com:8080/v21.0/123", False),
        ("https://scontent.fbcdn.net:99999/photo.jpg", False),
        ("file:///etc/passwd", False),
    ],
)
def test_only_media_on_meta_hosts_may_be_fetched(url, allowed, settings):
    settings.GRAPH_API_BASE_URL = "https://graph.facebook.com"

    assert media_url_allowed(url) is allowed
