"""Apps made in one process share the routes' built handlers (``entrypoints/api/routes.py``),
and each still answers with its own dependency overrides, also while another serves."""

from __future__ import annotations

from fastapi import HTTPException

from dongne.bootstrap import App
from dongne.entrypoints.api import deps
from dongne.entrypoints.api.app import create_app
from tests.e2e.test_api_payment_intents import TestClient

TEAPOT = 418


def _refused_as_a_teapot() -> str:
    raise HTTPException(status_code=TEAPOT, detail="this app's own override")


def test_two_apps_share_the_built_routes_and_keep_their_own_overrides(application: App) -> None:
    overridden = create_app(application, publish=False)
    plain = create_app(application, publish=False)
    overridden.dependency_overrides[deps.bearer_token] = _refused_as_a_teapot

    shared = [route for route in overridden.router.routes if route in plain.router.routes]
    assert len(shared) > 20, "the API's and the pages' routers are the same objects"

    with TestClient(overridden) as first, TestClient(plain) as second:
        for _ in range(2):  # in turn, each app's overrides stay its own
            assert first.get("/api/v1/regions").status_code == TEAPOT
            assert second.get("/api/v1/regions").status_code == 401

    plain.dependency_overrides[deps.bearer_token] = _refused_as_a_teapot
    overridden.dependency_overrides.clear()
    with TestClient(overridden) as first, TestClient(plain) as second:
        assert first.get("/api/v1/regions").status_code == 401
        assert second.get("/api/v1/regions").status_code == TEAPOT
