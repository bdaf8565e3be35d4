"""A faithful re-implementation of the original pattern, to measure against.

Its training notebook: pandas reads the CSV, `train_test_split(test_size=0.2,
random_state=42)` drops a fifth of the stores, and a
`KNeighborsClassifier(n_neighbors=2, weights="distance")` is fitted on raw
latitude/longitude degrees with the address as the label. Its handler unpickles
the model on every request and returns `str(address)`.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np


def train_original(csv_path: str):
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    df = pd.read_csv(csv_path)
    x = df[["latitude", "longitude"]]
    y = df["address"]
    x_train, _x_test, y_train, _y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    model = KNeighborsClassifier(n_neighbors=2, weights="distance")
    with warnings.catch_warnings():  # "more unique classes than 50% of samples": it is a lookup
        warnings.simplefilter("ignore", UserWarning)
        model.fit(x_train.values, y_train.values)
    return model


def original_handler(pickle_path: str):
    """The original handler: unpickle per request, predict, return the address as a string."""

    def handler(event, context):
        with open(pickle_path, "rb") as f:
            model = pickle.load(f)
        params = event.get("queryStringParameters") or {}
        lat = float(params.get("lat", 0))
        long = float(params.get("long", 0))
        return {"statusCode": 200, "body": str(model.predict(np.array([[lat, long]]))[0])}

    return handler
