"""The API's contract, checked against any base URL: the local server, the serving image
behind an HTTP front, or the deployed API after `pulumi up`.

    python -m chipotle_model smoke URL [--origin https://example.com]

Each check sends one real HTTP request and compares the answer with what the API
reference (docs/api.md) promises: the README's examples (distances consistent with the
stores' own coordinates, nearest first), every documented error status with a JSON
`error`, a batch, `/health`, the model's identity on every answer, and CORS for a browser
origin. It stops at the first difference, prints it, and exits 1. Standard library and
numpy only: it needs no AWS credentials and no model.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from .geo import haversine_km
from .params import MAX_POINTS
from .response import RESULT_FIELDS

TIMEOUT_S = 30
DISTANCE_TOLERANCE_KM = 1.5e-3  # answers are rounded to the metre
README_POINT = (39.153198, -77.066176)


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


def _json_answer(answer: Answer, status: int) -> dict:
    expect(answer.status == status, f"status {answer.status}, expected {status}: {answer.body[:300]!r}")
    expect(
        answer.headers.get("content-type", "").startswith("application/json"),
        f"Content-Type {answer.headers.get('content-type')!r}, expected application/json",
    )
    expect(bool(answer.headers.get("x-model-version")), "no X-Model-Version header")
    return answer.json()


def _stores_near(point: tuple[float, float], stores: list, k: int) -> None:
    expect(isinstance(stores, list) and len(stores) == k, f"expected {k} stores, got {stores!r:.200}")
    distances = []
    for store in stores:
        expect(
            list(store) == list(RESULT_FIELDS),
            f"a store's fields are {list(store)}, expected {RESULT_FIELDS}",
        )
        own = float(haversine_km(point[0], point[1], store["latitude"], store["longitude"]))
        expect(
            abs(store["distance_km"] - own) <= DISTANCE_TOLERANCE_KM,
            f"distance_km {store['distance_km']} but the store is {own:.3f} km from {point}",
        )
        distances.append(store["distance_km"])
    expect(distances == sorted(distances), f"stores not nearest first: {distances}")


# --- the checks, in the order of the API reference -------------------------------------


def nearest_store(contract: Contract) -> None:
    lat, lon = README_POINT
    body = _json_answer(contract.request("GET", f"?lat={lat}&long={lon}"), 200)
    expect(
        body.get("query") == {"latitude": lat, "longitude": lon, "k": 1},
        f"query echoed as {body.get('query')}",
    )
    _stores_near(README_POINT, body.get("stores"), 1)
    expect(body["nearest"] == body["stores"][0], "nearest is not the first of stores")


def k_nearest_with_an_alias(contract: Contract) -> None:
    point = (40.712776, -74.005974)
    body = _json_answer(contract.request("GET", f"?lat={point[0]}&lng={point[1]}&k=3"), 200)
    _stores_near(point, body.get("stores"), 3)


def batch(contract: Contract) -> None:
    points = [list(README_POINT), [34.052235, -118.243683]]
    for headers in ({"Content-Type": "application/json"}, {}):  # curl -d without a type: base64 in AWS
        answer = contract.request("POST", "", json.dumps({"points": points}).encode(), headers)
        results = _json_answer(answer, 200).get("results")
        expect(isinstance(results, list) and len(results) == len(points), f"results: {results!r:.200}")
        for point, result in zip(points, results):
            _stores_near(tuple(point), [result], 1)


def health(contract: Contract) -> None:
    answer = contract.request("GET", "health")
    body = _json_answer(answer, 200)
    expect(body.get("status") == "ok", f"status {body.get('status')!r}")
    expect(isinstance(body.get("store_count"), int) and body["store_count"] > 0, "no store_count")
    header = answer.headers["x-model-version"]
    expect(
        body.get("model_version") == header,
        f"/health names model {body.get('model_version')!r}, its header {header!r}",
    )


ERRORS = [
    # (method, target, body, status, a phrase of the error)
    ("GET", "", None, 400, "lat"),
    ("GET", "?lat=91&long=-77", None, 400, "'lat'"),
    ("GET", "?lat=39&lat=40&long=-77", None, 400, "given once"),
    ("GET", "?lat=39&long=-77&k=50", None, 400, "'k'"),
    ("POST", "", b"", 400, "empty"),
    ("POST", "", b'{"points": [[39.1, -77.1]', 400, "not valid JSON"),
    ("POST", "", json.dumps({"points": [[0, 0]] * (MAX_POINTS + 1)}).encode(), 413, "too many points"),
    ("GET", "no/such/path", None, 404, "no such path"),
    ("DELETE", "", None, 405, "not allowed"),
]


def documented_errors(contract: Contract) -> None:
    for method, target, body, status, phrase in ERRORS:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        where = f"{method} /{target}"
        try:
            error = _json_answer(contract.request(method, target, body, headers), status)
        except ContractBroken as broken:
            raise ContractBroken(f"{where}: {broken}") from None
        expect(set(error) == {"error"}, f"{where}: the body is {error!r:.200}, expected only an 'error'")
        expect(phrase in error["error"], f"{where}: error {error['error']!r} does not mention {phrase!r}")


def cors(contract: Contract) -> None:
    preflight = {"Origin": contract.origin, "Access-Control-Request-Method": "POST"}
    answer = contract.request(
        "OPTIONS", "", None, {**preflight, "Access-Control-Request-Headers": "content-type"}
    )
    expect(200 <= answer.status < 300, f"preflight status {answer.status}, expected 2xx")
    allowed = answer.headers.get("access-control-allow-origin")
    expect(allowed in ("*", contract.origin), f"preflight Access-Control-Allow-Origin {allowed!r}")
    expect("POST" in answer.headers.get("access-control-allow-methods", ""), "preflight does not allow POST")
    lat, lon = README_POINT
    answer = contract.request("GET", f"?lat={lat}&long={lon}", None, {"Origin": contract.origin})
    allowed = answer.headers.get("access-control-allow-origin")
    expect(allowed in ("*", contract.origin), f"answer's Access-Control-Allow-Origin {allowed!r}")


CHECKS: list[Callable[[Contract], None]] = [
    nearest_store,
    k_nearest_with_an_alias,
    batch,
    health,
    documented_errors,
    cors,
]


def run(base_url: str, *, origin: str = "https://example.com", out=sys.stdout) -> int:
    """Run every check against `base_url`; 0 when all hold, 1 at the first difference."""
    contract = Contract(base_url if base_url.endswith("/") else base_url + "/", origin)
    for check in CHECKS:
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
    print(f"the API at {contract.base_url} keeps its contract ({len(CHECKS)} checks)", file=out)
    return 0
