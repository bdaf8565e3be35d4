"""`python -m chipotle_model smoke URL`: the API's contract against a real URL. It passes
against the local server (here) and the serving image behind an HTTP front
(tests/images/test_images.py), with `--data` and with the default data's known answers;
and it fails, naming the check, the request and the difference, within its deadline,
against a lying front (tests/support/lying_front.py) between it and the real server."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chipotle_model
import chipotle_model.known_answers
from chipotle_model.geo import haversine_km, km_to_miles
from serving import cli as serving_cli
from serving import contract
from tests.support import REPO_ROOT
from tests.support.http import http_front
from tests.support.lying_front import Exchange, Reply, lying_front

FAR_POINT = (47.606209, -122.332071)  # Seattle: far from every point smoke asks about in the east
DEADLINE_S = 3.0  # the lying tests' whole run: a slow drip must be cut off by it
TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def local_url(api_and_logs):
    with http_front(api_and_logs[0].handler) as url:
        yield url


def smoke(url: str, data=None, **options) -> tuple[int, str, float]:
    out = io.StringIO()
    started = time.monotonic()
    status = contract.run(url, chipotle_model.contract_checks(data), out=out, **options)
    return status, out.getvalue(), time.monotonic() - started


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chipotle_model", "smoke", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("with_data", [False, True], ids=["known-answers", "data"])
def test_the_local_server_keeps_the_contract(local_url, real_csv, with_data):
    status, out, _ = smoke(local_url, real_csv if with_data else None)
    assert status == 0, out
    assert out.count("ok   ") == len(chipotle_model.contract_checks()) + len(contract.PLATFORM_CHECKS)


def test_the_command_line_runs_it_and_exits_0(local_url, real_csv):
    for extra in ([], ["--data", str(real_csv), "--timeout", "5", "--deadline", "60"]):
        proc = cli(local_url, *extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "keeps its contract" in proc.stdout


def test_data_of_another_model_is_a_difference(local_url, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("state,location,address,latitude,longitude\nMD,Olney,1 Elsewhere Rd,39.2,-77.1\n")
    status, out, _ = smoke(local_url, other)
    assert status == 1
    assert "FAIL nearest store: GET /?lat=39.153198&long=-77.066176: the nearest to" in out
    assert "expected '1 Elsewhere Rd'" in out, out


# --- the lies: each changes the real server's answers to GET / and POST / ----------------


def _answers(change):
    """A lie that applies change(document, points, exchange) to the JSON of 200 answers of
    / (points: the point of each list of stores: the query's, or the batch's)."""

    def lie(exchange: Exchange) -> Reply:
        reply = exchange.relay()
        if urlsplit(exchange.target).path != "/" or reply.status != 200:
            return reply
        document = json.loads(reply.body)
        if "results" in document:
            points = json.loads(exchange.body)["points"]
        else:
            points = [(document["query"]["latitude"], document["query"]["longitude"])]
        return Reply(200, reply.headers, json.dumps(change(document, points, exchange)).encode())

    return lie


def _store_lists(document) -> list[list]:
    """The lists of stores an answer holds: GET's `stores`, or one list per batch result."""
    if "results" in document:
        return [[result] for result in document["results"]]
    return [document["stores"]]


def _rebuilt(document, lists):
    if "results" in document:
        return {"results": [stores[0] for stores in lists]}
    return {**document, "stores": lists[0], "nearest": lists[0][0]}


def _moved(store: dict, point, to: dict) -> dict:
    """`to`, with its distance from `point` computed right: only its nearness is a lie."""
    km = float(haversine_km(point[0], point[1], to["latitude"], to["longitude"]))
    return {**to, "distance_km": round(km, 3), "distance_miles": round(float(km_to_miles(km)), 3)}


def second_nearest(exchange: Exchange) -> Reply:
    parts = urlsplit(exchange.target)
    if exchange.method != "GET" or parts.path != "/" or "lat" not in parse_qs(parts.query):
        return exchange.relay()
    k = int(parse_qs(parts.query).get("k", ["1"])[0])
    others = "&".join(p for p in parts.query.split("&") if not p.startswith("k="))
    reply = exchange.relay(f"/?{others}&k={k + 1}")
    if reply.status != 200:
        return exchange.relay()
    document = json.loads(reply.body)
    stores = document["stores"][1:]
    query = {**document["query"], "k": k}
    return Reply(
        200, reply.headers, json.dumps({"query": query, "nearest": stores[0], "stores": stores}).encode()
    )


def _far_store(document, points, exchange):
    far = json.loads(exchange.ask("GET", f"/?lat={FAR_POINT[0]}&long={FAR_POINT[1]}").body)["nearest"]
    lists = [[_moved(s, point, far) for s in stores] for stores, point in zip(_store_lists(document), points)]
    return _rebuilt(document, lists)


def _fake_address(document, points, exchange):
    return _rebuilt(
        document, [[{**s, "address": "1 Fake Street Nowhere"} for s in ss] for ss in _store_lists(document)]
    )


def _swapped_addresses(document, points, exchange):
    stores = [s for ss in _store_lists(document) for s in ss]
    addresses = [s["address"] for s in stores]
    swapped = iter({**s, "address": a} for s, a in zip(stores, addresses[1:] + addresses[:1]))
    return _rebuilt(document, [[next(swapped) for _ in ss] for ss in _store_lists(document)])


def _twentieth_in_batches(document, points, exchange):
    if "results" not in document:
        return document
    twentieth = [
        json.loads(exchange.ask("GET", f"/?lat={a}&long={b}&k=20").body)["stores"][-1] for a, b in points
    ]
    return {"results": twentieth}


def _string_distance(document, points, exchange):
    return _rebuilt(
        document, [[{**s, "distance_km": str(s["distance_km"])} for s in ss] for ss in _store_lists(document)]
    )


def _only_on_get(make):
    def lie(exchange: Exchange) -> Reply:
        reply = exchange.relay()
        if exchange.method == "GET" and urlsplit(exchange.target).path == "/" and reply.status == 200:
            return make(reply)
        return reply

    return lie


def _dripped(seconds: float):
    return _only_on_get(lambda reply: Reply(reply.status, reply.headers, reply.body, drip_s=seconds))


def _body(data: bytes):
    return _only_on_get(lambda reply: Reply(200, reply.headers, data))


README = chipotle_model.known_answers.ANSWERS[((39.153198, -77.066176), 1)][0][0]
ALIAS = chipotle_model.known_answers.ANSWERS[((40.712776, -74.005974), 3)][0][0]
README_GET = "FAIL nearest store: GET /?lat=39.153198&long=-77.066176: "
LIES = {
    # name: (lie, options, what the first failure line says)
    "2nd-nearest store": (second_nearest, {}, f"store 1: expected {README!r}"),
    "a far store": (_answers(_far_store), {}, f"store 1: expected {README!r}"),
    "every address fake": (_answers(_fake_address), {}, "got '1 Fake Street Nowhere'"),
    "swapped addresses": (
        _answers(_swapped_addresses),
        {},
        "FAIL k nearest with an alias: GET /?lat=40.712776&lng=-74.005974&k=3: "
        f"the 3 nearest to (40.712776, -74.005974), store 1: expected {ALIAS!r}",
    ),
    "batch: 20th-nearest": (
        _answers(_twentieth_in_batches),
        {},
        "FAIL batch: POST /: results[0], the nearest to",
    ),
    "slow drip (timeout)": (_dripped(0.2), {}, README_GET + "no complete answer within --timeout 1 s"),
    "slow drip (deadline)": (
        _dripped(0.2),
        {"timeout_s": 10.0},
        README_GET + "no complete answer within the run's deadline",
    ),
    "list body": (
        _only_on_get(lambda r: Reply(200, r.headers, b"[" + r.body + b"]")),
        {},
        README_GET + "the body is [{",
    ),
    "string distance": (_answers(_string_distance), {}, "store 1's distance_km is '"),
    "stores [1]": (
        _answers(lambda d, p, e: {**d, "stores": [1]}),
        {},
        "store 1 is 1, expected an object of address",
    ),
    "not JSON": (_body(b"<html>upstream error</html>"), {}, README_GET + "the body is not JSON"),
    "huge body": (
        _body(b" " * (contract.MAX_ANSWER_BYTES + 1)),
        {},
        README_GET + "the answer is over 4,194,304 bytes",
    ),
    "connection reset": (
        _only_on_get(lambda r: Reply(0, {}, b"", reset=True)),
        {},
        README_GET + "no answer from",
    ),
    "not HTTP": (
        _only_on_get(lambda r: Reply(0, {}, b"", raw=b"SPAM\r\n\r\n")),
        {},
        README_GET + "not a valid HTTP answer",
    ),
}


def lied(local_url, lie, **options) -> tuple[int, str, float]:
    with lying_front(local_url, lie) as url:
        return smoke(url, timeout_s=options.get("timeout_s", TIMEOUT_S), deadline_s=DEADLINE_S)


@pytest.mark.parametrize("name", list(LIES))
def test_a_lying_front_fails_naming_the_difference_within_the_deadline(local_url, name):
    lie, options, first_difference = LIES[name]
    status, out, seconds = lied(local_url, lie, **options)
    assert status == 1, out
    assert first_difference in out.splitlines()[-1], out
    assert seconds <= DEADLINE_S + 2  # the deadline holds (a margin for the last read's end)


def test_an_honest_front_passes(local_url):
    status, out, _ = lied(local_url, lambda exchange: exchange.relay())
    assert status == 0, out


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | st.binary(max_size=200).map(lambda data: data.decode("latin-1")))
def test_any_body_is_a_difference_never_a_traceback(local_url, body):
    data = (json.dumps(body) if not isinstance(body, str) or body.isprintable() else body).encode(
        "latin-1", "replace"
    )
    status, out, _ = lied(local_url, _body(data))
    assert status == 1 and out.splitlines()[-1].startswith(README_GET), out


@pytest.mark.parametrize(
    "args",
    [
        ["localhost:8000"],
        [""],
        ["ftp://host/"],
        ["http://"],
        ["http://[::1/"],
        ["http://h:99999/"],
        ["http://h/?x=1"],
    ]
    + [
        ["http://127.0.0.1:9/", option, value]
        for option in ("--timeout", "--deadline")
        for value in ("0", "-1", "abc", "1e3", "5000")
    ],
)
def test_a_url_or_option_it_cannot_use_is_exit_2_and_one_line(args, capsys):
    assert serving_cli.main(chipotle_model, ["smoke", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("error: "), err


def test_data_it_cannot_read_is_exit_2_naming_it(tmp_path):
    proc = cli("http://127.0.0.1:9/", "--data", str(tmp_path / "missing.csv"))
    assert proc.returncode == 2 and "missing.csv" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert proc.stdout == ""


def test_no_answer_at_all_fails_clearly():
    status, out, _ = smoke("http://127.0.0.1:9/")
    assert status == 1
    assert "no answer from http://127.0.0.1:9/" in out
