"""The G2P Connect disbursement specification as a validator of what the tests send and get.

The OpenAPI file is read from ``../shared/specs`` beside the repository (or the folder
``DONGNE_SPECS_DIR`` names); it is never copied into the repository. Its schemas are checked
with ``jsonschema`` (OpenAPI 3.0's schema objects are JSON Schema draft 4 with extensions),
after two corrections of the file's own mistakes, each asserted to be still there so that a
corrected file is noticed (``docs/g2p-connect.md``):

1. ``DisburseRequest.required`` names ``disburemsents``, a misspelling of its property
   ``disbursements``: as written, no request that uses the property could validate.
2. ``TxnStatusRequest``'s ``attribute_value`` is ``oneOf`` TransactionId, ReferenceIdList and
   correlation_id, two of which are any string up to 99 characters: a transaction or
   correlation id matches both, which ``oneOf`` refuses. It is read as ``anyOf``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_NAME = "g2p-connect-disburse-1.0.0.yaml"
ROOT = "urn:g2p-connect-disburse"


def spec_file() -> Path:
    folder = os.environ.get("DONGNE_SPECS_DIR")
    base = (
        Path(folder) if folder else Path(__file__).resolve().parents[1].parent / "shared" / "specs"
    )
    return base / SPEC_NAME


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class Spec:
    def __init__(self, document: dict[str, Any]):
        self.document = _corrected(document)
        resource = Resource.from_contents(self.document, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(ROOT, resource)

    def _validate(self, pointer: str, body: Any) -> None:
        validator = jsonschema.Draft4Validator(
            {"$ref": f"{ROOT}#/{pointer}"}, registry=self.registry
        )
        validator.validate(body)

    def request(self, path: str, body: Any) -> None:
        """``body`` is a valid JSON request to ``path`` (a callback body: to its path)."""
        pointer = _pointer("paths", path, "post", "requestBody", "content", "application/json")
        self._validate(f"{pointer}/schema", body)

    def response(self, path: str, status: int, body: Any) -> None:
        responses = self.document["paths"][path]["post"]["responses"]
        key = str(status) if str(status) in responses else "default"
        found = responses[key]
        if "$ref" in found:
            name = found["$ref"].rsplit("/", 1)[-1]
            pointer = _pointer("components", "responses", name, "content", "application/json")
        else:
            pointer = _pointer(
                "paths", path, "post", "responses", key, "content", "application/json"
            )
        self._validate(f"{pointer}/schema", body)


def _corrected(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    required = schemas["DisburseRequest"]["required"]
    assert "disburemsents" in required, "the spec's misspelling is fixed: drop this correction"
    required[required.index("disburemsents")] = "disbursements"
    value = schemas["TxnStatusRequest"]["properties"]["txnstatus_request"]["properties"][
        "attribute_value"
    ]
    assert "oneOf" in value, "the spec's attribute_value is no longer oneOf: drop this correction"
    value["anyOf"] = value.pop("oneOf")
    return document


def load_spec() -> Spec:
    path = spec_file()
    if not path.exists():
        reason = (
            f"{path} is absent: the G2P Connect specification lives in ../shared/specs beside"
            " the repository (or set DONGNE_SPECS_DIR)"
        )
        if os.environ.get("CI"):  # under CI the specification is required, as PostgreSQL is
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return Spec(yaml.safe_load(path.read_text(encoding="utf-8")))
