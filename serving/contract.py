"""An API's contract, checked against any base URL: the local server, the serving image
behind an HTTP front, or the deployed API after `pulumi up`.

    python -m <model package> smoke URL [--data DATA] [--origin ORIGIN]
                                        [--timeout SECONDS] [--deadline SECONDS]

Each check sends real HTTP requests and compares the answers with what the API promises.
The platform's checks (PLATFORM_CHECKS): `/health` and the model's identity on every
answer, a JSON 404 and 405 for what no route serves, CORS for a browser origin. The model
package adds its own (its `contract_checks(data)`: its answers, checked for being right).
`run` stops at the first difference and prints it, naming the check, the request and what
differs, and exits 1. Whatever a server sends (no JSON, the wrong types, a huge body, one
byte at a time, a reset) is a difference, never a traceback or a hang: every request has
a deadline (`timeout_s`) and so has the whole run (`deadline_s`). Standard library only:
it needs no AWS credentials and no model.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

DEFAULT_TIMEOUT_S = 10.0  # one request, connect to last byte (a cold Lambda start is ~2 s)
DEFAULT_DEADLINE_S = 120.0  # the whole run
MAX_SECONDS = 3600.0
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # the largest answer the checks ask for is a few KB
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")  # the API's own number grammar: ASCII, no sign


class ContractBroken(AssertionError):
    """An answer differs from the contract; the message says how."""


class UsageError(ValueError):
    """A URL or option `run` cannot use; the message names it and what is allowed."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: '[' nested a million deep
            raise ContractBroken(f"the body is not JSON: {self.body[:200]!r}") from None


def base_url(url: str) -> str:
    """`url` as a base for the API's paths (ending in /), or UsageError: http or https, a
    host, no query, fragment or white space."""
    hint = "expected http://HOST[:PORT]/ or https://HOST[:PORT]/[PATH]"
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UsageError(f"URL {url!r}: {hint}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as exc:
        raise UsageError(f"URL {url!r}: {exc}; {hint}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        guess = f" (did you mean http://{url}?)" if url and "://" not in url else ""
        raise UsageError(f"URL {url!r}: {hint}{guess}")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise UsageError(f"URL {url!r}: a base URL has no query, fragment or user; {hint}")
    return url if url.endswith("/") else url + "/"


def seconds(text: str, option: str) -> float:
    """A duration option (`--timeout 10`, `--deadline 2.5`) or UsageError naming it."""
    value = float(text) if isinstance(text, str) and _SECONDS.fullmatch(text) else None
    if value is None or not 0 < value <= MAX_SECONDS:
        raise UsageError(f"{option} {text!r}: expected seconds, a number above 0 and at most {MAX_SECONDS:g}")
    return value


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each allowed only what is left of one deadline: a server sending
    one byte a second cannot stretch a request past it (a socket timeout is per read)."""

    def __init__(self, sock, deadline: float):
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline passed")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """The connection's socket, but what http.client reads goes through _DeadlineReader."""

    def __init__(self, sock, deadline: float):
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str, *args, **kwargs):
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        """Nothing: http.client closes the connection when the answer ends (Connection:
        close) before the body is read; Contract._exchange closes the socket when done."""

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


@dataclass
class Contract:
    base_url: str
    origin: str = "https://example.com"
    timeout_s: float = DEFAULT_TIMEOUT_S
    run_deadline: float = float("inf")  # time.monotonic() at which the whole run ends
    last_request: str = ""  # "GET /health": what a failure names
    passed: list[str] = field(default_factory=list)

    def request(
        self, method: str, target: str, body: bytes | None = None, headers: dict | None = None
    ) -> Answer:
        """One exchange, within the request's deadline; ContractBroken when there is no
        complete HTTP answer of at most MAX_ANSWER_BYTES in time."""
        self.last_request = f"{method} /{target}"[:300]
        now = time.monotonic()
        if now >= self.run_deadline:
            raise ContractBroken("the run's deadline (--deadline) passed before this request")
        by_run = self.run_deadline - now < self.timeout_s
        deadline = min(now + self.timeout_s, self.run_deadline)
        try:
            return self._exchange(method, urljoin(self.base_url, target), body, headers or {}, deadline)
        except TimeoutError:
            limit = "the run's deadline (--deadline)" if by_run else f"--timeout {self.timeout_s:g} s"
            raise ContractBroken(f"no complete answer within {limit}") from None
        except http.client.HTTPException as exc:
            raise ContractBroken(
                f"not a valid HTTP answer: {type(exc).__name__} {str(exc)[:200]!r}"
            ) from None
        except OSError as exc:  # refused, reset, unreachable, a name that does not resolve
            raise ContractBroken(f"no answer from {self.base_url}: {exc}") from None

    @staticmethod
    def _exchange(method: str, url: str, body: bytes | None, headers: dict, deadline: float) -> Answer:
        parts = urlsplit(url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=max(deadline - time.monotonic(), 1e-3))
        sock = None
        try:
            connection.connect()
            sock = connection.sock
            sock.settimeout(max(deadline - time.monotonic(), 1e-3))  # sendall: in total
            connection.sock = _DeadlineSocket(sock, deadline)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read(MAX_ANSWER_BYTES + 1)
        finally:
            connection.close()
            if sock is not None:
                sock.close()
        if len(data) > MAX_ANSWER_BYTES:
            raise ContractBroken(f"the answer is over {MAX_ANSWER_BYTES:,} bytes")
        return Answer(response.status, _lower(response.getheaders()), data)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractBroken(message)


def _lower(items) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def json_answer(answer: Answer, status: int) -> dict:
    """The answer's JSON object, after checking its status and the headers every answer has."""
    expect(answer.status == status, f"status {answer.status}, expected {status}: {answer.body[:300]!r}")
    expect(
        answer.headers.get("content-type", "").startswith("application/json"),
        f"Content-Type {answer.headers.get('content-type')!r}, expected application/json",
    )
    expect(bool(answer.headers.get("x-model-version")), "no X-Model-Version header")
    document = answer.json()
    expect(isinstance(document, dict), f"the body is {shown(document)}, expected a JSON object")
    return document


def shown(value, limit: int = 200) -> str:
    """`value` for a message: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# --- the platform's checks -------------------------------------------------------------


def health(contract: Contract) -> None:
    answer = contract.request("GET", "health")
    body = json_answer(answer, 200)
    expect(body.get("status") == "ok", f"status {shown(body.get('status'))}, expected 'ok'")
    header = answer.headers["x-model-version"]
    expect(
        body.get("model_version") == header,
        f"/health names model {shown(body.get('model_version'))}, its header {header!r}",
    )


def error_answer(contract: Contract, method: str, target: str, body: bytes | None, status: int, phrase: str):
    """Expect a JSON `{"error": ...}` answer with `status` whose message says `phrase`."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    error = json_answer(contract.request(method, target, body, headers), status)
    expect(set(error) == {"error"}, f"the body is {shown(error)}, expected only an 'error'")
    message = error["error"]
    expect(
        isinstance(message, str) and phrase in message, f"error {shown(message)} does not mention {phrase!r}"
    )


def no_route(contract: Contract) -> None:
    # /health is the one path every API serves (GET only): a model need not serve /
    error_answer(contract, "GET", "no/such/path", None, 404, "no such path")
    error_answer(contract, "DELETE", "health", None, 405, "not allowed")


def cors(contract: Contract) -> None:
    preflight = {"Origin": contract.origin, "Access-Control-Request-Method": "GET"}
    answer = contract.request(
        "OPTIONS", "health", None, {**preflight, "Access-Control-Request-Headers": "content-type"}
    )
    expect(200 <= answer.status < 300, f"preflight status {answer.status}, expected 2xx")
    allowed = answer.headers.get("access-control-allow-origin")
    expect(allowed in ("*", contract.origin), f"preflight Access-Control-Allow-Origin {allowed!r}")
    expect("GET" in answer.headers.get("access-control-allow-methods", ""), "preflight does not allow GET")
    answer = contract.request("GET", "health", None, {"Origin": contract.origin})
    allowed = answer.headers.get("access-control-allow-origin")
    expect(allowed in ("*", contract.origin), f"answer's Access-Control-Allow-Origin {allowed!r}")


Check = Callable[[Contract], None]
PLATFORM_CHECKS: list[Check] = [health, no_route, cors]
# What a model package's check may raise on an answer of a shape it did not expect: a
# difference like any other, reported with the request, never a traceback.
_SHAPE_ERRORS = (TypeError, KeyError, IndexError, AttributeError, ValueError)


def run(
    url: str,
    model_checks: list[Check],
    *,
    origin: str = "https://example.com",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    deadline_s: float = DEFAULT_DEADLINE_S,
    out=sys.stdout,
) -> int:
    """Run the model's checks, then the platform's, against `url`; 0 when all hold, 1 at
    the first difference. UsageError (before any request) for a URL that is not http(s)
    with a host, or a timeout or deadline not in (0, MAX_SECONDS]."""
    for value, option in ((timeout_s, "--timeout"), (deadline_s, "--deadline")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SECONDS:
            raise UsageError(f"{option} {value!r}: expected seconds above 0 and at most {MAX_SECONDS:g}")
    contract = Contract(base_url(url), origin, timeout_s, time.monotonic() + deadline_s)
    checks = [*model_checks, *PLATFORM_CHECKS]
    for check in checks:
        name = check.__name__.replace("_", " ")
        try:
            check(contract)
        except ContractBroken as broken:
            print(f"FAIL {name}: {contract.last_request}: {broken}", file=out)
            return 1
        except _SHAPE_ERRORS as error:
            print(
                f"FAIL {name}: {contract.last_request}: unexpected answer ({type(error).__name__}: {error})",
                file=out,
            )
            return 1
        print(f"ok   {name}", file=out)
    print(f"the API at {contract.base_url} keeps its contract ({len(checks)} checks)", file=out)
    return 0
