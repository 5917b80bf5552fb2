"""The API's routers are matched in an order chosen for speed (``routes._API_ROUTERS``: the
payments' and purchases' first). That is safe only while no two routes claim one request, so
that the order decides nothing: checked here for every operation the API documents, each with
a path made from its template, against every template of the same method."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from starlette.routing import compile_path

METHODS = ("get", "put", "post", "delete", "patch")


def example_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "7", template)


def test_no_two_api_routes_claim_one_request(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = [
        (method, template)
        for template, item in paths.items()
        for method in METHODS
        if method in item
    ]
    assert len(operations) > 100, "the API's operations, all of them"
    compiled = {template: compile_path(template)[0] for template in paths}
    for method, template in operations:
        path = example_path(template)
        claiming = [
            other
            for other_method, other in operations
            if other_method == method and compiled[other].fullmatch(path)
        ]
        assert claiming == [template], f"{method.upper()} {path}"
