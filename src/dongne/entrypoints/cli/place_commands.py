"""``dongne merchant locate`` and ``dongne merchant geocode``: where merchants are on the
public directory's map.

``locate`` is an official typing a merchant's coordinates in (as ``dongne login`` saved, or
``--token``), the same service as the console's page. ``geocode`` is the geocoding step: off
unless ``DONGNE_GEOCODER`` names a geocoder, it asks for the coordinates of the region's
merchants that have an address and no place yet.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dongne.entrypoints.cli.common import (
    EXIT_REFUSED,
    DatabaseUrl,
    Token,
    caller,
    err,
    open_app,
    region_id_of,
    reports_errors,
    say,
)


@reports_errors
def locate(
    merchant_id: int,
    latitude: Annotated[
        str | None, typer.Argument(help="Degrees north, e.g. 37.3800; leave out with --clear")
    ] = None,
    longitude: Annotated[str | None, typer.Argument(help="Degrees east, e.g. 126.8029")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Take it off the map.")] = False,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put a merchant on the directory's map (officials of its region, operator or higher)."""
    from dongne.domain.places import parse_coordinates
    from dongne.services import merchant_locations

    application = open_app(database_url)
    location = None if clear else parse_coordinates(latitude or "", longitude or "")
    place = merchant_locations.place_merchant(
        application.unit_of_work(),
        caller(application, token),
        merchant_id=merchant_id,
        location=location,
    )
    where = "off the map" if location is None else f"at {place.latitude}, {place.longitude}"
    say(f"merchant {place.name} (id {place.id}) is {where}", **vars(place))
    if location is not None and not location.in_korea:
        err.print("[yellow]![/] outside Korea: were latitude and longitude swapped?")


@reports_errors
def geocode(
    region: Annotated[str, typer.Argument(help="The region's code, e.g. siheung.")],
    limit: Annotated[int, typer.Option(min=1, max=1_000, help="Merchants at most.")] = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """Find coordinates for merchants with an address and no place (DONGNE_GEOCODER)."""
    from dongne.services.geocoding import geocode_region

    application = open_app(database_url)
    geocoder = application.geocoder()
    if geocoder is None:
        err.print("geocoding is off: set DONGNE_GEOCODER=nominatim to turn it on")
        raise typer.Exit(EXIT_REFUSED)
    run = geocode_region(
        application.unit_of_work(),
        geocoder,
        region_id=region_id_of(application, region),
        limit=limit,
    )
    say(
        f"placed {run.placed} merchants; {len(run.not_found)} addresses not found"
        + (f"; stopped: {run.stopped_because}" if run.stopped_because else ""),
        placed=run.placed,
        not_found=list(run.not_found),
        stopped_because=run.stopped_because,
    )
    if run.stopped_because:
        raise typer.Exit(EXIT_REFUSED)
