"""An API's contract, checked against any base URL: the local server, the serving image
behind an HTTP front, or the deployed API after `pulumi up`.

    python -m <model package> smoke URL [--origin https://example.com]

Each check sends real HTTP requests and compares the answers with what the API promises.
The platform's checks (PLATFORM_CHECKS): `/health` and the model's identity on every
answer, a JSON 404 and 405 for what no route serves, CORS for a browser origin. The model
package adds its own (its `contract_checks`: its answers, checked for being right). `run`
stops at the first difference, prints it, and exits 1. Standard library only: it needs no
AWS credentials and no model.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

TIMEOUT_S = 30


class ContractBroken(AssertionError):
    """An answer differs from the contract; the message says how."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise ContractBroken(f"the body is not JSON: {self.body[:200]!r}") from None


@dataclass
class Contract:
    base_url: str
    origin: str = "https://example.com"
    passed: list[str] = field(default_factory=list)

    def request(
        self, method: str, target: str, body: bytes | None = None, headers: dict | None = None
    ) -> Answer:
        request = urllib.request.Request(
            urljoin(self.base_url, target), data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return Answer(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, _lower(error.headers.items()), error.read())


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractBroken(message)


def _lower(items) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def json_answer(answer: Answer, status: int) -> dict:
    expect(answer.status == status, f"status {answer.status}, expected {status}: {answer.body[:300]!r}")
    expect(
        answer.headers.get("content-type", "").startswith("application/json"),
        f"Content-Type {answer.headers.get('content-type')!r}, expected application/json",
    )
    expect(bool(answer.headers.get("x-model-version")), "no X-Model-Version header")
    return answer.json()


# --- the platform's checks -------------------------------------------------------------


def health(contract: Contract) -> None:
    answer = contract.request("GET", "health")
    body = json_answer(answer, 200)
    expect(body.get("status") == "ok", f"status {body.get('status')!r}")
    header = answer.headers["x-model-version"]
    expect(
        body.get("model_version") == header,
        f"/health names model {body.get('model_version')!r}, its header {header!r}",
    )


def error_answer(contract: Contract, method: str, target: str, body: bytes | None, status: int, phrase: str):
    """Expect a JSON `{"error": ...}` answer with `status` whose message says `phrase`."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    where = f"{method} /{target}"
    try:
        error = json_answer(contract.request(method, target, body, headers), status)
    except ContractBroken as broken:
        raise ContractBroken(f"{where}: {broken}") from None
    expect(set(error) == {"error"}, f"{where}: the body is {error!r:.200}, expected only an 'error'")
    expect(phrase in error["error"], f"{where}: error {error['error']!r} does not mention {phrase!r}")


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


def run(
    base_url: str, model_checks: list[Check], *, origin: str = "https://example.com", out=sys.stdout
) -> int:
    """Run the model's checks, then the platform's, against `base_url`; 0 when all hold,
    1 at the first difference."""
    contract = Contract(base_url if base_url.endswith("/") else base_url + "/", origin)
    checks = [*model_checks, *PLATFORM_CHECKS]
    for check in checks:
        name = check.__name__.replace("_", " ")
        try:
            check(contract)
        except ContractBroken as broken:
            print(f"FAIL {name}: {broken}", file=out)
            return 1
        except (urllib.error.URLError, OSError) as error:
            print(f"FAIL {name}: no answer from {contract.base_url}: {error}", file=out)
            return 1
        print(f"ok   {name}", file=out)
    print(f"the API at {contract.base_url} keeps its contract ({len(checks)} checks)", file=out)
    return 0
