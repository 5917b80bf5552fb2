"""A geocoder over HTTP: Nominatim (OpenStreetMap's search, or a city's own server).

``GET <server>/search?q=<address>&format=jsonv2&limit=1&countrycodes=kr`` answers a JSON list
of places, best first, each with ``lat`` and ``lon`` as text. OpenStreetMap's public server
asks for at most one request a second and a User-Agent that names the application
(operations.osmfoundation.org/policies/nominatim), so this client waits its turn between
requests and sends ``DONGNE_GEOCODER_USER_AGENT``. A transport error, a timeout, a status
other than 200 or an answer that is not a list of places is an ``OSError``: the geocoding
step stops there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from dongne.config import Settings
from dongne.domain.errors import InvalidInput
from dongne.domain.places import Coordinates, parse_coordinates

REQUEST_INTERVAL_SECONDS = 1.0
"""OpenStreetMap's Nominatim allows one request a second."""


@dataclass
class NominatimGeocoder:
    client: httpx.Client
    request_interval_seconds: float = REQUEST_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last_request_at: float | None = field(default=None, init=False)

    def locate(self, address: str) -> Coordinates | None:
        self._wait_turn()
        params = {"q": address, "format": "jsonv2", "limit": "1", "countrycodes": "kr"}
        try:
            response = self.client.get("/search", params=params)
        except httpx.HTTPError as error:
            raise OSError(f"the geocoder did not answer: {error!r}") from error
        if response.status_code != httpx.codes.OK:
            raise OSError(f"the geocoder answered {response.status_code}")
        return _first_place(response)

    def _wait_turn(self) -> None:
        if self._last_request_at is not None:
            waited = self.clock() - self._last_request_at
            if waited < self.request_interval_seconds:
                self.sleep(self.request_interval_seconds - waited)
        self._last_request_at = self.clock()


def _first_place(response: httpx.Response) -> Coordinates | None:
    try:
        places: Any = response.json()
        if not isinstance(places, list):
            raise TypeError(type(places).__name__)
        if not places:
            return None
        return parse_coordinates(str(places[0]["lat"]), str(places[0]["lon"]))
    except (ValueError, TypeError, KeyError, InvalidInput) as error:
        raise OSError(f"the geocoder's answer is not a list of places: {error}") from error


def nominatim_geocoder(
    settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> NominatimGeocoder:
    """The geocoder the settings describe; ``transport`` replaces the network in tests."""
    client = httpx.Client(
        base_url=settings.nominatim_url.rstrip("/"),
        headers={"User-Agent": settings.geocoder_user_agent, "Accept-Language": "ko"},
        timeout=settings.geocoder_timeout_seconds,
        transport=transport,
    )
    return NominatimGeocoder(client)
