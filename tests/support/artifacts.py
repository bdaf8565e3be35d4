"""Damaged model artifacts, made on purpose: what loading and serving must refuse."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import joblib
import numpy as np

from chipotle_model.model import NearestStoreModel
from chipotle_model.table import StoreTable


def rewrite_model(path: Path, model: object) -> None:
    """Put `model` in the artifact at `path` with its true digest: damage that only the
    model's own consistency checks can catch."""
    model_pickle = pickle.dumps(model)
    artifact = joblib.load(path)
    artifact.update(model_pickle=model_pickle, model_sha256=hashlib.sha256(model_pickle).hexdigest())
    joblib.dump(artifact, path)


class PickledAs:
    """Pickles as a NearestStoreModel of `tree` and the table columns `arrays`, whatever
    they are (NearestStoreModel itself would refuse to be built of parts that disagree)."""

    def __init__(self, tree, arrays: dict):
        self.state = {"tree": tree, "stores": arrays}

    def __reduce__(self):
        return NearestStoreModel.__new__, (NearestStoreModel,), self.state


def rows(stores: StoreTable, order) -> StoreTable:
    """The table of `stores`' rows at `order` (indices), in that order."""
    order = np.asarray(order, dtype=np.intp)
    return StoreTable(
        state=stores.state.take(order),
        city=stores.city.take(order),
        address=stores.address.take(order),
        latitude=stores.latitude[order],
        longitude=stores.longitude[order],
    )
