"""Distances on the Earth's surface, for finding the city nearest to a shared location."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

# The mean Earth radius (IUGG); the spherical model is off by under 0.5 %, plenty to pick a city.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float) -> float:
    """The great-circle distance between two points given in degrees, in kilometres."""
    phi_a, phi_b = radians(latitude_a), radians(latitude_b)
    d_phi = phi_b - phi_a
    d_lambda = radians(longitude_b - longitude_a)
    h = sin(d_phi / 2) ** 2 + cos(phi_a) * cos(phi_b) * sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))
