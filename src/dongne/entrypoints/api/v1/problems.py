"""The problem+json response every route documents, so a partner can integrate from /docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """RFC 9457 problem details, with dongne's stable machine-readable ``code``."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str


_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM, "description": description}
    for status, description in {
        400: "Malformed input",
        401: "No valid credentials",
        403: "Not allowed, or a wrong PIN",
        404: "Not found (or not yours)",
        409: "Conflicts with the current state, or an Idempotency-Key reused with another body",
        422: "Refused by a money rule, or a request that does not match the schema",
        423: "Payments locked after too many wrong PINs",
        429: "Too many requests: the sale queue's line, or too many wrong passwords for a"
        " login (Retry-After says when to try again)",
    }.items()
}
