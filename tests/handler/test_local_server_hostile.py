"""The local server against hostile and careless clients: raw sockets, odd methods, bodies
too large or too short, clients that go away. Every refusal is a JSON 4xx; nothing holds a
thread, grows memory for good or prints a traceback."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import time
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


def test_connections_beyond_the_cap_wait_until_idle_ones_time_out(api_and_logs):
    """The cap bounds what the server holds: over it, a new client waits in the listen
    backlog (it is not refused) until the idle timeout frees a place."""
    settings = {"connection_limit": 8, "channel_timeout": 1, "cleanup_interval": 1}
    with http_front(api_and_logs[0].handler, **settings) as url:
        port = urlsplit(url).port
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(12)]
        try:
            time.sleep(0.3)
            assert request(port, "GET", "/health", timeout=15)[0] == 200
            # served only once the idle timeout freed a place: by the time it was answered,
            # the server had closed idle connections (without the cap none would be closed
            # yet: they idle for 1 s). A fact of the server, not of the machine's speed.
            assert sum(closed_by_server(sock) for sock in idle) >= 1
        finally:
            for sock in idle:
                sock.close()
