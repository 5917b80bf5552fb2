"""Cursor pagination, the one way every list in the API pages.

A list answers ``{data: [...], next_cursor: str | null}``. The cursor is opaque to clients:
the URL-safe base64 of the last row's id, so a page never repeats or skips rows when new
ones arrive meanwhile (keyset pagination, unlike an offset). Queries fetch ``limit + 1`` rows:
the extra row says whether another page exists without a second count query.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from dongne.domain.errors import InvalidCursor
from dongne.entrypoints.api.fields import Text

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Item = TypeVar("Item")
Row = TypeVar("Row")


class Page(BaseModel, Generic[Item]):
    """One page of a list; pass ``next_cursor`` back as ``?cursor=`` for the next one."""

    data: list[Item]
    next_cursor: str | None = Field(description="null on the last page")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise InvalidCursor("this cursor was not issued by this API", field="cursor") from error
    if not text.isdigit() or len(text) > 19:  # ids fit a signed 64-bit integer
        raise InvalidCursor("this cursor was not issued by this API", field="cursor")
    return int(text)


@dataclass(frozen=True)
class PageRequest:
    """What a client asked for: how many rows, after which id (None for the first page)."""

    limit: int
    after_id: int | None

    @property
    def fetch(self) -> int:
        """Rows to read: one more than a page, to learn whether there is a next page."""
        return self.limit + 1


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        Text | None,
        Query(max_length=40, description="the next_cursor of the previous page"),
    ] = None,
) -> PageRequest:
    return PageRequest(limit, decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageRequest, Depends(page_request)]


Model = TypeVar("Model", bound=BaseModel)


def rendered_as(model: type[Model]) -> Callable[[Any], Model]:
    """Render a database row (or any object with the fields as attributes) as ``model``."""
    return lambda row: model.model_validate(row, from_attributes=True)


def page_of(
    rows: Sequence[Row],
    request: PageRequest,
    *,
    id_of: Callable[[Row], int],
    render: Callable[[Row], Item],
) -> Page[Item]:
    """A page from up to ``request.fetch`` rows read in cursor order."""
    shown = rows[: request.limit]
    more = len(rows) > request.limit
    return Page[Item](
        data=[render(row) for row in shown],
        next_cursor=encode_cursor(id_of(shown[-1])) if more and shown else None,
    )
