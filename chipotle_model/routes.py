"""The nearest-store API's routes (the platform, serving.api, adds GET /health):

    GET  /?lat=<deg>&long=<deg>[&k=<1..20>]   the k nearest stores (`lng`/`lon` = `long`)
    POST /  {"points": [[lat, long], ...]}      the nearest store to each point, in order
    GET  /  from a browser, without coordinates  a page that asks the above (chipotle_model.page)

Each route is `route(model, request)`: it validates its input once, here at the edge
(chipotle_model.params), asks the model, and builds the answer (chipotle_model.response).
"""

from __future__ import annotations

import weakref

from aws_lambda_powertools.event_handler.api_gateway import Response

from serving.api import Request
from serving.events import http_event
from serving.inputs import ClientError
from serving.operations import described

from . import page, params, response
from .geo import InvalidQuery
from .model import MAX_K, NearestStoreModel

# The page of each loaded model, built on its first request (a process holds one model).
_pages: weakref.WeakKeyDictionary[NearestStoreModel, page.StorePage] = weakref.WeakKeyDictionary()


def max_k(model: NearestStoreModel) -> int:
    return min(MAX_K, len(model))


def store_page(model: NearestStoreModel) -> page.StorePage:
    found = _pages.get(model)
    if found is None:
        stores = model.stores
        found = _pages[model] = page.StorePage(stores.latitude, stores.longitude, max_k=max_k(model))
    return found


def describe_nearest(model: NearestStoreModel) -> dict:
    """GET / in the OpenAPI document."""
    return {
        "summary": "the k nearest stores to a point, nearest first",
        "description": (
            "From a browser (an `Accept` header preferring text/html) and without coordinates, "
            "an HTML page that asks this route instead."
        ),
        "operationId": "nearest",
        "parameters": params.nearest_parameters(max_k(model)),
        "responses": {
            "200": {
                "description": "the k nearest stores (or the page)",
                "content": {
                    "application/json": {"schema": response.nearest_schema(max_k(model))},
                    "text/html": {"schema": {"type": "string"}},
                },
            },
            "400": "a coordinate or k missing, given twice, not a number or out of range",
        },
    }


def describe_nearest_batch(model: NearestStoreModel) -> dict:
    """POST / in the OpenAPI document."""
    return {
        "summary": "the nearest store to each point, in input order",
        "operationId": "nearest_batch",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": params.batch_body_schema()}},
        },
        "responses": {
            "200": {
                "description": "results[i] is the nearest store to points[i]",
                "content": {"application/json": {"schema": response.batch_schema(params.MAX_POINTS)}},
            },
            "400": 'the body empty, not JSON, not {"points": [[lat, long], ...]}, or a point out of range',
            "413": f"more than {params.MAX_POINTS:,} points, or a body over {params.MAX_BODY_BYTES:,} bytes",
        },
    }


@described(describe_nearest)
def nearest(model: NearestStoreModel, request: Request) -> dict | Response:
    if page.wants_page(request.event):
        return store_page(model).response()
    query = params.nearest_query(request.event.query_string_parameters, max_k=max_k(model))
    request.log(query=query.log)
    request.count("K", query.k)
    distances, indices = _query(model, query.latitude, query.longitude, k=query.k)
    stores = response.StoreRecords(model.stores).rows(distances[0], indices[0])
    return response.nearest_answer(query.latitude, query.longitude, query.k, stores)


@described(describe_nearest_batch)
def nearest_batch(model: NearestStoreModel, request: Request) -> dict:
    event = request.event
    latitudes, longitudes = params.batch_request(event.body, base64_encoded=event.is_base64_encoded)
    request.log(query={"points": len(latitudes)})
    request.count("BatchPoints", len(latitudes))
    distances, indices = _query(model, latitudes, longitudes, k=1)
    return response.batch_answer(response.StoreRecords(model.stores).rows(distances[:, 0], indices[:, 0]))


def _query(model: NearestStoreModel, latitudes, longitudes, *, k: int):
    try:
        return model.query(latitudes, longitudes, k=k)
    except InvalidQuery as exc:  # the model's own check of a point or k: the client's input
        raise ClientError(400, str(exc)) from None


ROUTES = {("GET", "/"): nearest, ("POST", "/"): nearest_batch}


def warm_up_requests(model: NearestStoreModel) -> list[dict]:
    """One request of each kind at the first store, answered at init (before a SnapStart
    snapshot): the first user's request pays no first-use costs. The page is built on
    its first request instead: INIT does not pay for it."""
    lat, lon = float(model.stores.latitude[0]), float(model.stores.longitude[0])
    return [
        http_event("GET", "/", query={"lat": str(lat), "long": str(lon)}),
        http_event("POST", "/", body={"points": [[lat, lon], [lon / 2, lat]]}),
    ]
