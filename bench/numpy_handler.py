"""A numpy-only Lambda handler for bench/numpy_only.py: what scikit-learn costs at serve time.

No scikit-learn, scipy or joblib is imported: the stores come as arrays exported from
the training artifact (stores.npz: 3-D unit vectors and the store table's columns, read
by chipotle_model.table). The nearest store is the one whose unit vector has the
largest dot product with the query's (largest cosine = smallest great-circle angle):
an exact brute-force search over all stores. Answers GET /?lat&long[&k] and
POST / {"points": [...]} with our API's answers, built by chipotle_model.response (which
imports numpy only); input checks are minimal. bench/numpy_only.py mounts it into the
serving image.
"""

import json
import math
import os
import sys

import numpy as np

from chipotle_model.response import StoreRecords, batch_answer, nearest_answer
from chipotle_model.table import StoreTable

DATA_DIR = os.environ.get("NUMPY_MODEL_DIR", os.path.dirname(os.path.abspath(__file__)))
EARTH_RADIUS_KM = 6371.0088
CHUNK = 1024  # batch rows per matrix product: 1,024 x stores float64

_arrays = np.load(os.path.join(DATA_DIR, "stores.npz"))
UNITS = np.ascontiguousarray(_arrays["units"])
STORES = StoreTable.from_arrays(_arrays)
LAT, LON = STORES.latitude, STORES.longitude
RECORDS = StoreRecords.from_table(STORES)
JSON = {"Content-Type": "application/json"}
if os.environ.get("AWS_LAMBDA_RUNTIME_API"):  # under a Lambda runtime: prove the claim
    assert "sklearn" not in sys.modules and "scipy" not in sys.modules, "scikit-learn was imported"


def unit(lat, lon):
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def haversine_km(lat1, lon1, lat2, lon2):
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def results(indices, lat, lon):
    return RECORDS.rows(haversine_km(lat, lon, LAT[indices], LON[indices]), indices)


def nearest(lat, lon, k=1):
    dots = UNITS @ unit(lat, lon)
    if k == 1:
        order = np.array([int(np.argmax(dots))])
    else:
        top = np.argpartition(-dots, k - 1)[:k]
        order = top[np.argsort(-dots[top], kind="stable")]
    return results(order, lat, lon)


def nearest_batch(lat, lon):
    out = np.empty(len(lat), dtype=np.intp)
    for start in range(0, len(lat), CHUNK):
        q = unit(lat[start : start + CHUNK], lon[start : start + CHUNK])
        out[start : start + CHUNK] = np.argmax(q @ UNITS.T, axis=1)
    return results(out, lat, lon)


def respond(status, body):
    return {"statusCode": status, "headers": JSON, "body": json.dumps(body, separators=(",", ":"))}


def handler(event, context):
    method = event.get("requestContext", {}).get("http", {}).get("method")
    try:
        if method == "GET":
            params = event.get("queryStringParameters") or {}
            lat, lon = float(params["lat"]), float(params["long"])
            k = int(params.get("k", 1))
            if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 1 <= k <= 20) or math.isnan(lat + lon):
                return respond(400, {"error": "lat/long out of range or bad k"})
            return respond(200, nearest_answer(lat, lon, k, nearest(lat, lon, k)))
        if method == "POST":
            points = np.array(json.loads(event["body"])["points"], dtype=np.float64)
            return respond(200, batch_answer(nearest_batch(points[:, 0], points[:, 1])))
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        return respond(400, {"error": str(exc)})
    return respond(404, {"error": "not found"})
