import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.bench.http_load import closed_loop, open_loop, percentile


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        number = int(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.numbers.append(number)
        status = 500 if number in self.server.failing else 200
        body = json.dumps({"number": number}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.numbers, httpd.failing = [], set()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def send(connection, number):
    connection.request("POST", "/", body=str(number).encode())
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())["number"]


def test_the_open_loop_sends_rate_times_seconds_requests_each_numbered_once(server):
    result = open_loop(
        host="127.0.0.1", port=server.server_port, send=send, rate=40, seconds=0.5
    )
    assert result.requests == 20
    assert sorted(server.numbers) == list(range(20))
    assert sorted(sample.kept for sample in result.ok) == list(range(20))
    assert result.errors == []


def test_the_closed_loop_numbers_requests_from_where_it_is_told(server):
    result = closed_loop(
        host="127.0.0.1",
        port=server.server_port,
        send=send,
        clients=3,
        seconds=0.3,
        first_number=1000,
    )
    assert result.requests == len(server.numbers) > 0
    assert sorted(server.numbers) == list(range(1000, 1000 + result.requests))


def test_a_failed_answer_is_counted_as_an_error_not_raised(server):
    server.failing.update({1, 3})
    result = open_loop(
        host="127.0.0.1", port=server.server_port, send=send, rate=50, seconds=0.1
    )
    assert result.requests == 5
    assert len(result.ok) == 3
    assert result.errors == ["HTTP 500"]


def test_a_refused_connection_is_counted_as_an_error_not_raised(server):
    port = server.server_port
    server.shutdown()
    server.server_close()
    result = open_loop(host="127.0.0.1", port=port, send=send, rate=50, seconds=0.04)
    assert result.requests == 2
    assert result.ok == []
    assert result.errors[0].startswith("ConnectionRefusedError")


def test_percentiles_are_taken_from_the_sorted_samples():
    samples = [float(n) for n in range(100, 0, -1)]
    assert percentile(samples, 0.5) == 51.0
    assert percentile(samples, 0.95) == 95.0
    assert percentile(samples, 1.0) == 100.0
    assert percentile([], 0.95) == 0.0
