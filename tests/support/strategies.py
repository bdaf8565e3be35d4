"""Hypothesis strategies for points anywhere on Earth, crowding the awkward places."""

from hypothesis import strategies as st

latitudes = st.floats(-90, 90, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)
# Points that crowd the awkward places: the antimeridian and the poles.
seam_longitudes = st.one_of(longitudes, st.floats(179.0, 180.0), st.floats(-180.0, -179.0))
polar_latitudes = st.one_of(latitudes, st.floats(88.0, 90.0), st.floats(-90.0, -88.0))
points = st.tuples(polar_latitudes, seam_longitudes)
