"""The API reference works on a closed network: /docs and /redoc name only same-origin assets,
and every asset they name is served here."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from dongne.bootstrap import bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ASSET_REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")
ABSOLUTE_URL = re.compile(r"""https?://[^\s'"<>)]+""")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/docs.db", log_witnesses=[]))
    with TestClient(create_app(app, publish=False)) as client:
        yield client
    app.engine.dispose()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_reference_page_names_no_other_host(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert ABSOLUTE_URL.findall(response.text) == []


@pytest.mark.parametrize(
    ("page", "expected_kinds"), [("/docs", {"script", "style"}), ("/redoc", {"script"})]
)
def test_every_asset_the_reference_page_names_is_served_here(
    client: TestClient, page: str, expected_kinds: set[str]
) -> None:
    html = client.get(page).text
    assets = [url for url in ASSET_REFERENCE.findall(html) if url.endswith((".js", ".css", ".png"))]
    kinds = set()
    for url in assets:
        assert url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        content_type = response.headers["content-type"]
        if url.endswith(".js"):
            assert "javascript" in content_type, (url, content_type)
            kinds.add("script")
        elif url.endswith(".css"):
            assert content_type.startswith("text/css"), (url, content_type)
            kinds.add("style")
        else:
            assert content_type.startswith("image/"), (url, content_type)
        assert len(response.content) > 1_000, url
    assert kinds == expected_kinds
