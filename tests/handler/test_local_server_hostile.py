"""The local server against hostile and careless clients: raw sockets, odd methods, bodies
too large or too short, clients that go away. Every refusal is a JSON 4xx; nothing holds a
thread, grows memory for good or prints a traceback."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from infra.local.server import request, serve_process
from serving.http_transport import GATEWAY_MAX_BODY_BYTES
from tests.support.http import http_front
from tests.support.local_server import closed_by_server, raw_exchange

BIG_BODY = 50 * 1024 * 1024  # five times API Gateway's limit
LINGER_ZERO = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets the connection


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one raw HTTP answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def assert_json_error(status: int, headers: dict, body: bytes, expected_status: int, phrase: str) -> None:
    assert status == expected_status, (status, body)
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)
    assert set(error) == {"error"} and phrase in error["error"], error


@pytest.fixture(scope="module")
def server(real_artifact):
    with serve_process("--model", str(real_artifact)) as process:
        yield process


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "FOO", "PROPFIND", "TRACE"])
@pytest.mark.parametrize("target", ["/", "/health", "/nowhere", "/a/b?lat=1&long=2"])
def test_every_method_and_path_the_api_does_not_serve_gets_a_json_4xx(server, method, target):
    raw = raw_exchange(
        server.port, f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    status, headers, body = parse(raw)
    if target in ("/", "/health"):
        assert_json_error(status, headers, body, 405, f"method '{method}' is not allowed on {target}")
        assert headers["Allow"].startswith("GET")
    else:
        assert_json_error(status, headers, body, 404, "no such path")


@pytest.mark.parametrize("request_line", ["get / HTTP/1.1", "Get /health HTTP/1.1", "GET", "GET / HTTP/9"])
def test_a_malformed_request_line_gets_a_json_400(server, request_line):
    status, headers, body = parse(raw_exchange(server.port, f"{request_line}\r\nHost: x\r\n\r\n".encode()))
    assert_json_error(status, headers, body, 400, "bad request")


def test_headers_over_64_kb_get_a_json_431(server):
    raw = raw_exchange(server.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert_json_error(*parse(raw), 431, "exceeds max_header")


def test_a_body_over_10_mb_is_drained_and_answered_413_to_a_client_that_sends_it_all(server):
    """http.client sends the whole body before reading (no Expect: 100-continue): it must
    read the 413, not a broken pipe, and the body must not stay in the server's memory."""
    rss_before = server.rss_kb()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request("POST", "/", body=b"x" * BIG_BODY, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert_json_error(response.status, dict(response.getheaders()), response.read(), 413, "over 10 MB")
    assert response.getheader("Connection") == "close"
    connection.close()
    assert server.rss_kb() - rss_before < 10 * 1024
    assert server.request("GET", "/health")[0] == 200


def test_a_client_that_expects_100_continue_gets_the_413_before_sending_the_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BIG_BODY}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        answer = b""  # the 413 arrives although no byte of the body was sent
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)  # headers and body may come in separate reads
            if not chunk:
                break
            answer += chunk
    # no "100 Continue" first: a client told to go on would send the body for nothing
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert_json_error(*parse(answer), 413, "over 10 MB")


def test_a_chunked_body_over_10_mb_gets_a_json_413(server):
    chunk = b"x" * (1024 * 1024)
    chunks = (chunk for _ in range(GATEWAY_MAX_BODY_BYTES // len(chunk) + 2))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request(
        "POST", "/", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    response = connection.getresponse()
    assert_json_error(response.status, dict(response.getheaders()), response.read(), 413, "over 10 MB")
    connection.close()


def test_clients_that_go_away_early_leave_no_trace_and_no_harm(real_artifact):
    body = b'{"points": [' + b"[39.1, -77.1]," * 40_000
    with serve_process("--model", str(real_artifact)) as server:
        for _ in range(10):
            with socket.create_connection(("127.0.0.1", server.port)) as gone_mid_body:
                gone_mid_body.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
                gone_mid_body.sendall(f"Content-Length: {len(body) + 100}\r\n\r\n".encode() + body)
            with socket.create_connection(("127.0.0.1", server.port)) as reset_before_answer:
                reset_before_answer.sendall(b"GET /?lat=39&long=-77&k=20 HTTP/1.1\r\nHost: x\r\n\r\n")
                reset_before_answer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
        assert server.request("GET", "/?lat=39&long=-77")[0] == 200
        assert server.stop() == ""  # nothing on stderr: no traceback, no warning


def test_a_stalled_request_is_dropped_after_the_timeout_while_others_are_answered(api_and_logs):
    with http_front(api_and_logs[0].handler, channel_timeout=1, cleanup_interval=1) as url:
        port = urlsplit(url).port
        with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
            # Content-Length larger than the body: the server waits for bytes that never come
            stalled.sendall(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"po')
            for _ in range(20):
                assert request(port, "GET", "/?lat=39&long=-77", timeout=30)[0] == 200
            # closed by the server (after its 1 s timeout), not by this socket's 10 s one
            assert stalled.recv(1024) == b""


def test_past_the_connection_cap_the_connection_waiting_longest_is_closed_for_a_new_one(api_and_logs):
    """Over max_connections a new client is accepted at once, and the connections that
    have waited longest for their clients are closed to make room (waitress's own cap
    stops accepting: the new client waited in the backlog until idle ones timed out)."""
    settings = {"max_connections": 8, "channel_timeout": 60, "request_timeout": 60}
    with http_front(api_and_logs[0].handler, **settings) as url:
        port = urlsplit(url).port
        idle = []
        try:
            for _ in range(12):
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
                time.sleep(0.05)  # in order: each one has waited longer than the next
            assert request(port, "GET", "/health", timeout=30)[0] == 200  # 60 s before any timeout
            time.sleep(0.3)
            closed = [closed_by_server(sock) for sock in idle]
        finally:
            for sock in idle:
                sock.close()
    # 12 idle and the new one over a cap of 8: the 5 oldest made room, the rest stay open
    assert closed == [True] * 5 + [False] * 7


def test_a_request_that_does_not_arrive_whole_in_time_gets_a_json_408(api_and_logs):
    """A client sending one header line every 0.2 s is never idle (channel_timeout never
    fires): the deadline counts from the request's first byte."""
    settings = {"request_timeout": 1, "channel_timeout": 60, "cleanup_interval": 1}
    with http_front(api_and_logs[0].handler, **settings) as url:
        port = urlsplit(url).port
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            slow.setblocking(False)
            answer = b""
            for _ in range(150):  # 30 s at most: far beyond the 1 s deadline
                time.sleep(0.2)
                with contextlib.suppress(BlockingIOError):
                    answer += slow.recv(65536)
                if answer.rstrip().endswith(b"}"):
                    break
                with contextlib.suppress(OSError):
                    slow.send(b"X-Slow: 1\r\n")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert_json_error(*parse(answer), 408, "did not arrive whole within 1 s")


MALFORMED_TARGETS = [
    "//[::1/?lat=1&long=2",  # once a 500: urlsplit's "Invalid IPv6 URL"
    "//[/",
    "//[abc]/",
    "http://[::1/?lat=1&long=2",  # once closed with no answer
    "http://[abc]/",
    "http://[::1]:99999/health",
    "http://u@x/health",
    "http:///health",
    "http:/health",
    "ftp://x/health",
    "*",
    "x:80",
    "health",
    "/%zz",
    "/health#fragment",
    "/?lat=1&long=2#x",
    '/"quoted"',
    "/a<b>",
    "/a\\b",
    "/a\x7fb",
    "/a\x01b",
    "/caf\xe9",
    "/?q=%",
]


@pytest.mark.parametrize("target", MALFORMED_TARGETS)
def test_a_malformed_request_target_gets_a_json_400(server, target):
    raw = raw_exchange(
        server.port, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode("latin-1")
    )
    assert raw, "closed without an answer"
    assert_json_error(*parse(raw), 400, "bad request")


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("http://x/health", 200),
        ("HTTPS://x:8000/?lat=39&long=-77", 200),
        ("http://[::1]:8000/health", 200),
        ("http://x", 400),  # path "/": no lat and long
        ("http://x/nowhere", 404),
    ],
)
def test_an_absolute_form_target_is_answered_as_its_path(server, target, status):
    """HTTP/1.1 servers must accept absolute-form targets (RFC 9112, 3.2.2)."""
    raw = raw_exchange(server.port, f"GET {target} HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n".encode())
    assert parse(raw)[0] == status, raw[:300]


def test_a_double_slash_path_is_that_path_not_a_host(server):
    """API Gateway routes by the raw path: "//evil.example/health" is not /health."""
    request_line = b"GET //evil.example/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw = raw_exchange(server.port, request_line)
    assert_json_error(*parse(raw), 404, "no such path '//evil.example/health'")


REFUSED_BODY_BYTES = 9_900_000  # under API Gateway's 10 MB: read, and refused by the handler
RSS_AFTER_REFUSED_BODIES_KB = 30 * 1024


def test_memory_comes_back_after_large_refused_bodies(real_artifact):
    """Each of these bodies is read (about 30 MB of copies on its way to the handler) and
    answered 413: once took the server from 169 to 440 MB, held after idle."""
    body = b'{"points": [' + b"1" * (REFUSED_BODY_BYTES - 14) + b"]}"
    headers = {"Content-Type": "application/json"}

    def post() -> int:
        return request(server.port, "POST", "/", headers, body, timeout=120)[0]

    with serve_process("--model", str(real_artifact)) as server:
        for _ in range(20):
            assert server.request("GET", "/?lat=39&long=-77")[0] == 200
        baseline = server.rss_kb()
        statuses = [post() for _ in range(20)]
        with ThreadPoolExecutor(8) as pool:  # and at once, in every worker thread
            statuses += list(pool.map(lambda _: post(), range(16)))
        assert server.request("GET", "/health")[0] == 200
        after = server.rss_kb()
    assert statuses == [413] * 36
    assert after - baseline < RSS_AFTER_REFUSED_BODIES_KB, (baseline, after)
