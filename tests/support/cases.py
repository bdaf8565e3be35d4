"""The API's test cases, shared by the in-process, local-server and RIE tests.

Events are real API Gateway HTTP API payload-2.0 events kept in tests/events/; a few
too large to keep as files are derived from them here. Every answer is checked against
brute force (haversine to every store), never against hard-coded stores.
"""

from __future__ import annotations

import base64
import json

import numpy as np

from chipotle_model.geo import KM_PER_MILE, haversine_km
from chipotle_model.model import MAX_K
from chipotle_model.params import LONGITUDE_PARAMETERS, MAX_BODY_BYTES, MAX_POINTS
from chipotle_model.response import RESULT_FIELDS
from tests.support.events import grid_points, load_event, with_body

# Every fixture in tests/events/ -> (status, a phrase its error message must contain).
EXPECTED: dict[str, tuple[int, str | None]] = {
    "get_nearest": (200, None),
    "get_nearest_lng": (200, None),
    "get_nearest_lon": (200, None),
    "get_nearest_k5": (200, None),
    "get_nearest_k20_far": (200, None),
    "get_nearest_cors": (200, None),
    "get_nearest_extra_params": (200, None),
    "get_health": (200, None),
    "options_preflight": (204, None),
    "post_batch": (200, None),
    "post_batch_base64": (200, None),
    "get_no_query": (400, "missing query parameter 'lat'"),
    "get_missing_long": (400, "missing query parameter 'long' or 'lng' or 'lon'"),
    "get_empty_lat": (400, "'lat' is empty"),
    "get_non_numeric_lat": (400, "'lat' must be a latitude in decimal degrees from -90 to 90, got 'north'"),
    "get_nan_lat": (400, "'lat' must be a latitude in decimal degrees from -90 to 90, got 'NaN'"),
    "get_infinite_long": (400, "'long' must be a longitude in decimal degrees from -180 to 180"),
    "get_out_of_range_lat": (400, "'lat' must be a latitude in decimal degrees from -90 to 90, got '91'"),
    "get_out_of_range_long": (400, "from -180 to 180, got '-180.5'"),
    "get_repeated_lat": (400, "'lat' must be given once, got '39.1,40.2'"),
    "get_two_longitudes": (400, "give the longitude once"),
    "get_k_zero": (400, f"'k' must be an integer from 1 to {MAX_K}, got '0'"),
    "get_k_too_large": (400, f"'k' must be an integer from 1 to {MAX_K}, got '21'"),
    "get_k_not_integer": (400, "got '2.5'"),
    "post_empty_body": (400, "the request body is empty"),
    "post_malformed_json": (400, "the request body is not valid JSON"),
    "post_wrong_shape": (400, "must be a JSON object"),
    "post_missing_points": (400, "has no 'points'"),
    "post_empty_points": (400, "'points' is empty"),
    "post_malformed_point": (400, "points[1] must be a [lat, long] pair"),
    "post_non_numeric_point": (400, "points[0] longitude must be a number, got a JSON string"),
    "post_out_of_range_point": (400, "points[1] latitude must be a finite number in [-90, 90]"),
    "post_nan_point": (400, "NaN is not a JSON number"),
    "post_bad_base64": (400, "not valid base64"),
    "get_unknown_path": (404, "no such path '/stores'"),
    "delete_root": (405, "method 'DELETE' is not allowed on /; allowed: GET, POST"),
    "post_health": (405, "method 'POST' is not allowed on /health; allowed: GET"),
}
# Derived from post_batch.json (see generated_events) -> (status, phrase).
GENERATED_EXPECTED: dict[str, tuple[int, str | None]] = {
    "post_max_points": (200, None),
    "post_too_many_points": (413, f"too many points: {MAX_POINTS + 1:,}"),
    "post_body_too_large": (413, f"over {MAX_BODY_BYTES:,} bytes"),
    "post_base64_body_too_large": (413, f"over {MAX_BODY_BYTES:,} bytes"),
}
ALL_EXPECTED = {**EXPECTED, **GENERATED_EXPECTED}


def generated_events() -> dict[str, dict]:
    base = load_event("post_batch")
    too_large = json.dumps({"points": [[1.0, 2.0]], "padding": "x" * MAX_BODY_BYTES})
    return {
        "post_max_points": with_body(base, json.dumps({"points": grid_points(MAX_POINTS)})),
        "post_too_many_points": with_body(base, json.dumps({"points": [[0, 0]] * (MAX_POINTS + 1)})),
        "post_body_too_large": with_body(base, too_large),
        "post_base64_body_too_large": with_body(
            base, base64.b64encode(too_large.encode()).decode(), base64_encoded=True
        ),
    }


def all_events() -> dict[str, dict]:
    return {**{name: load_event(name) for name in EXPECTED}, **generated_events()}


# --- checks against brute force -----------------------------------------------------------


def assert_nearest(model, lat: float, lon: float, stores: list[dict]) -> None:
    """`stores` are the len(stores) nearest stores to (lat, lon), nearest first."""
    k = len(stores)
    all_lat = np.asarray(model.stores.latitude)
    all_lon = np.asarray(model.stores.longitude)
    distances = haversine_km(lat, lon, all_lat, all_lon)
    expected = np.sort(distances)[:k]
    got = np.array([store["distance_km"] for store in stores])
    assert np.allclose(got, expected, atol=1.5e-3), (lat, lon, got, expected)
    assert np.all(np.diff(got) >= 0)
    by_address = {address: i for i, address in enumerate(model.stores.address)}
    for store in stores:
        assert tuple(store) == RESULT_FIELDS
        i = by_address[store["address"]]
        assert (store["latitude"], store["longitude"]) == (all_lat[i], all_lon[i])
        assert (store["city"], store["state"]) == (model.stores.city[i], model.stores.state[i])
        assert abs(store["distance_km"] - distances[i]) <= 1e-3
        assert abs(store["distance_miles"] - store["distance_km"] / KM_PER_MILE) <= 1e-3


def assert_batch(model, points: list, results: list[dict]) -> None:
    """results[i] is the nearest store to points[i] (checked in one vectorised brute force)."""
    from chipotle_model.training import brute_force_nearest_km

    assert len(results) == len(points)
    lat = np.array([p[0] for p in points], dtype=float)
    lon = np.array([p[1] for p in points], dtype=float)
    all_lat = np.asarray(model.stores.latitude)
    all_lon = np.asarray(model.stores.longitude)
    expected = brute_force_nearest_km(all_lat, all_lon, lat, lon)
    got = np.array([result["distance_km"] for result in results])
    assert np.allclose(got, expected, atol=1.5e-3)
    own = haversine_km(lat, lon, [r["latitude"] for r in results], [r["longitude"] for r in results])
    assert np.allclose(got, own, atol=1e-3)  # each result's distance is to the store it names
    for result in results[:50]:
        assert tuple(result) == RESULT_FIELDS


def request_body(event: dict) -> str:
    body = event.get("body") or ""
    return base64.b64decode(body).decode() if event.get("isBase64Encoded") else body


def check_answer(model, name: str, event: dict, response: dict) -> dict | None:
    """Check `response` to `event` (case `name`); return the parsed JSON body (None for 204)."""
    status, phrase = ALL_EXPECTED[name]
    assert response["statusCode"] == status, (name, response["statusCode"], response["body"][:300])
    headers = {key.lower(): value for key, value in response["headers"].items()}
    if status == 204:
        assert response["body"] == ""
        return None
    assert headers["content-type"] == "application/json"
    assert response["isBase64Encoded"] is False
    body = json.loads(response["body"])
    if status >= 400:
        assert set(body) == {"error"}, body
        assert phrase in body["error"], (phrase, body["error"])
        if status == 405:
            assert "GET" in headers["allow"]
        return body
    path = event["rawPath"]
    method = event["requestContext"]["http"]["method"]
    if path == "/health":
        assert body["status"] == "ok"
        assert body["store_count"] == len(model) and body["data_sha256"]
    elif method == "GET":
        params = event["queryStringParameters"]
        lat = float(params["lat"])
        lon = float(next(params[alias] for alias in LONGITUDE_PARAMETERS if alias in params))
        k = int(params.get("k", 1))
        assert body["query"] == {"latitude": lat, "longitude": lon, "k": k}
        assert len(body["stores"]) == k
        assert body["nearest"] == body["stores"][0]
        assert_nearest(model, lat, lon, body["stores"])
    else:
        points = json.loads(request_body(event))["points"]
        assert set(body) == {"results"}
        assert_batch(model, points, body["results"])
    return body
