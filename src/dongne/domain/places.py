"""Where a merchant is: coordinates on the map (WGS 84 degrees, as OpenStreetMap and GPS use).

A merchant's coordinates come from an official who types them in or from a geocoder that
reads its address; either way they pass ``coordinates`` first. Korea's bounds are a hint, not
a rule: a shop outside them is most likely a typing slip (latitude and longitude swapped), so
pages warn, but a region abroad (a sister city's market) is not refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dongne.domain.errors import InvalidInput

LATITUDE_LIMIT = 90.0
LONGITUDE_LIMIT = 180.0
DECIMALS = 6
"""A millionth of a degree is about 11 cm: finer than any shop's door, coarser than float noise."""

KOREA_LATITUDES = (33.0, 38.7)
"""From Marado (마라도, 33.1°N) to the northern border of Goseong (고성, 38.6°N)."""
KOREA_LONGITUDES = (124.5, 132.0)
"""From Baengnyeongdo (백령도, 124.6°E) to Dokdo (독도, 131.9°E)."""


@dataclass(frozen=True)
class Coordinates:
    latitude: float
    longitude: float

    @property
    def in_korea(self) -> bool:
        """Within the box around South Korea's land and islands."""
        south, north = KOREA_LATITUDES
        west, east = KOREA_LONGITUDES
        return south <= self.latitude <= north and west <= self.longitude <= east


def coordinates(latitude: float, longitude: float) -> Coordinates:
    """Checked coordinates, rounded to ``DECIMALS``: latitude within ±90°, longitude within
    ±180°. Raises ``InvalidInput`` naming the field that is out of range."""
    return Coordinates(
        _degrees(latitude, LATITUDE_LIMIT, "latitude"),
        _degrees(longitude, LONGITUDE_LIMIT, "longitude"),
    )


def parse_coordinates(latitude: str, longitude: str) -> Coordinates:
    """Coordinates typed as text (``37.3800``, ``126.8029``), as a form or a geocoder gives them."""
    return coordinates(_number(latitude, "latitude"), _number(longitude, "longitude"))


def place_or_none(latitude: float | None, longitude: float | None) -> Coordinates | None:
    """Coordinates, or None (off the map) when both are left out; one without the other is
    refused, naming the missing one."""
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        missing = "latitude" if latitude is None else "longitude"
        raise InvalidInput(f"the {missing} is missing: give both, or neither", field=missing)
    return coordinates(latitude, longitude)


def parse_place_or_none(latitude: str, longitude: str) -> Coordinates | None:
    """``place_or_none`` of coordinates typed as text: both fields empty is no place."""
    if not latitude.strip() and not longitude.strip():
        return None
    return parse_coordinates(latitude, longitude)


def _number(text: str, field: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidInput(f"the {field} is a number of degrees, e.g. 37.38", field=field) from None


def _degrees(value: float, limit: float, field: str) -> float:
    if isinstance(value, bool) or not math.isfinite(value) or not -limit <= value <= limit:
        raise InvalidInput(
            f"the {field} is between -{limit:g} and {limit:g} degrees, not {value}",
            field=field,
            limit=limit,
        )
    return round(float(value), DECIMALS)
