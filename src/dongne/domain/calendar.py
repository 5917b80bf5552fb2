"""Dates as Korean cities count them: months and days in Asia/Seoul, instants in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetimes are not accepted; give a timezone")
    return moment.astimezone(UTC)


def seoul_day(moment: datetime) -> date:
    return require_aware(moment).astimezone(SEOUL).date()


def seoul_month(moment: datetime) -> str:
    """The Seoul calendar month of an instant, as ``YYYY-MM``."""
    return seoul_day(moment).strftime("%Y-%m")


def seoul_month_bounds(month: str) -> tuple[datetime, datetime]:
    """The instants (UTC) where a Seoul calendar month (``YYYY-MM``) starts and where the next
    one starts."""
    year, number = (int(part) for part in month.split("-"))
    following = (year + number // 12, number % 12 + 1)
    start = datetime(year, number, 1, tzinfo=SEOUL)
    end = datetime(*following, 1, tzinfo=SEOUL)
    return start.astimezone(UTC), end.astimezone(UTC)


def seoul_year(moment: datetime) -> int:
    return seoul_day(moment).year


def months_of_year(year: int) -> list[str]:
    return [f"{year}-{month:02d}" for month in range(1, 13)]
