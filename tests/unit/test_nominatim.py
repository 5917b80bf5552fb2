"""The Nominatim geocoder against a stand-in server (``httpx.MockTransport``): what it asks,
what it makes of the answers, and that it waits its turn. The network is never used."""

from __future__ import annotations

import httpx
import pytest

from dongne.adapters.nominatim import NominatimGeocoder, nominatim_geocoder
from dongne.config import Settings
from dongne.domain.places import coordinates

SIHEUNG_HALL = [
    {"place_id": 1, "lat": "37.3800123", "lon": "126.8029456", "display_name": "시흥시청"}
]


def geocoder(answer: httpx.Response, asked: list[httpx.Request]) -> NominatimGeocoder:
    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return answer

    settings = Settings(
        nominatim_url="https://geocoder.example/", geocoder_user_agent="dongne siheung.example"
    )
    return nominatim_geocoder(settings, transport=httpx.MockTransport(handle))


def test_an_address_is_asked_for_and_the_first_place_is_its_coordinates() -> None:
    asked: list[httpx.Request] = []
    found = geocoder(httpx.Response(200, json=SIHEUNG_HALL), asked).locate("시흥시 시청로 20")
    assert found == coordinates(37.380_012, 126.802_946)
    (request,) = asked
    assert request.url.host == "geocoder.example"
    assert request.url.path == "/search"
    assert request.url.params["q"] == "시흥시 시청로 20"
    assert request.url.params["format"] == "jsonv2"
    assert request.url.params["countrycodes"] == "kr"
    assert request.headers["user-agent"] == "dongne siheung.example"


def test_an_unknown_address_is_none() -> None:
    assert geocoder(httpx.Response(200, json=[]), []).locate("없는 주소") is None


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="busy"),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"error": "Unable to geocode"}),
        httpx.Response(200, json=[{"lat": "north", "lon": "126.8"}]),
        httpx.Response(200, json=[{"lat": "137.38", "lon": "126.8"}]),
        httpx.Response(200, json=[{"display_name": "no coordinates"}]),
    ],
)
def test_a_refusal_or_a_malformed_answer_is_an_os_error(answer: httpx.Response) -> None:
    with pytest.raises(OSError, match="geocoder"):
        geocoder(answer, []).locate("시흥시 시청로 20")


def test_a_timeout_is_an_os_error() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    settings = Settings(nominatim_url="https://geocoder.example")
    with pytest.raises(OSError, match="did not answer"):
        nominatim_geocoder(settings, transport=httpx.MockTransport(slow)).locate("시청로 20")


def test_requests_are_a_second_apart() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    client = httpx.Client(
        base_url="https://geocoder.example",
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=SIHEUNG_HALL)),
    )
    located = NominatimGeocoder(client, clock=lambda: now[0], sleep=sleep)
    located.locate("first")
    now[0] += 0.25
    located.locate("second")
    now[0] += 3
    located.locate("third")
    assert slept == [0.75]


def test_the_timeout_comes_from_the_settings() -> None:
    settings = Settings(geocoder_timeout_seconds=2.5)
    assert nominatim_geocoder(settings).client.timeout == httpx.Timeout(2.5)


def test_the_user_agent_is_an_ascii_header_or_the_settings_refuse_it() -> None:
    with pytest.raises(ValueError, match="geocoder_user_agent"):
        Settings(geocoder_user_agent="시흥시 dongne")
