"""Coordinates: within ±90° and ±180°, rounded to a millionth of a degree, and a hint when they
fall outside Korea."""

from __future__ import annotations

import pytest

from dongne.domain.errors import InvalidInput
from dongne.domain.places import coordinates, parse_coordinates


def test_coordinates_on_the_edges_are_accepted_and_rounded() -> None:
    assert coordinates(90, -180) == coordinates(90.0, -180.0)
    assert coordinates(-90, 180).latitude == -90
    assert coordinates(37.380_123_49, 126.802_9).latitude == 37.380_123


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (90.000_001, 0, "latitude"),
        (-90.5, 0, "latitude"),
        (0, 180.000_01, "longitude"),
        (0, -181, "longitude"),
        (float("nan"), 0, "latitude"),
        (0, float("inf"), "longitude"),
    ],
)
def test_coordinates_out_of_range_are_refused_naming_the_field(
    latitude: float, longitude: float, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        coordinates(latitude, longitude)
    assert refused.value.details["field"] == field


def test_typed_coordinates_must_be_numbers() -> None:
    assert parse_coordinates(" 37.38 ", "126.8029") == coordinates(37.38, 126.8029)
    with pytest.raises(InvalidInput) as refused:
        parse_coordinates("37.38", "동경 126")
    assert refused.value.details["field"] == "longitude"


def test_korea_is_a_hint_a_swapped_pair_falls_outside() -> None:
    assert coordinates(37.38, 126.80).in_korea
    assert coordinates(33.12, 126.27).in_korea  # 마라도
    assert not coordinates(126.80 - 90, 37.38).in_korea  # latitude and longitude swapped
    assert not coordinates(35.68, 139.77).in_korea  # Tokyo
