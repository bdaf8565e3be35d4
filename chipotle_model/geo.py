"""Great-circle geometry on a spherical Earth: pure, vectorised functions."""

from __future__ import annotations

import numpy as np

# IUGG mean Earth radius; the spherical model is what "haversine distance" means.
EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344

LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 180.0)


class InvalidQuery(ValueError):
    """A query the model cannot answer: a point out of range, a bad k. Callers map it to a 400."""


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(np.subtract(lon2, lon1))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2.0) ** 2
    # clip: rounding can push `a` a hair above 1 for antipodal points
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def unit_vectors(lat, lon) -> np.ndarray:
    """Points in degrees -> (n, 3) unit vectors on the sphere.

    Euclidean (chord) distance between unit vectors grows monotonically with
    great-circle distance, so an exact Euclidean nearest-neighbour search on
    these vectors is an exact great-circle search: no seam at the antimeridian,
    no singularity at the poles.
    """
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def km_to_miles(km):
    return np.asarray(km) / KM_PER_MILE


def validate_coordinates(lat, lon, *, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Return float64 arrays of the points, or raise InvalidQuery naming the first bad one.

    `where` prefixes the message (e.g. "points") so callers can name their own field.
    """
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    if lat.shape != lon.shape or lat.ndim != 1:
        raise InvalidQuery("latitudes and longitudes must be 1-D sequences of equal length")
    for name, values, (low, high) in (
        ("latitude", lat, LATITUDE_RANGE),
        ("longitude", lon, LONGITUDE_RANGE),
    ):
        bad = ~(np.isfinite(values) & (values >= low) & (values <= high))
        if bad.any():
            i = int(np.argmax(bad))
            label = f"{where}[{i}] " if where else ""
            raise InvalidQuery(
                f"{label}{name} must be a finite number in [{low:g}, {high:g}], got {values[i].item()!r}"
            )
    return lat, lon
