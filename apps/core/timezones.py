"""The organization's time zone, and the ISO weeks and date windows that live in it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def org_tz() -> ZoneInfo:
    return ZoneInfo(settings.EXECDASH_TIME_ZONE)


def week_start_of(moment: dt.datetime, tz: ZoneInfo | None = None) -> dt.date:
    """The Monday (a local date) of the ISO week in which `moment` falls, in the org zone."""
    local = moment.astimezone(tz or org_tz()).date()
    return local - dt.timedelta(days=local.weekday())


def local_midnight(day: dt.date, tz: ZoneInfo | None = None) -> dt.datetime:
    """00:00 of `day` in the org zone, as an aware datetime (DST-safe)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz or org_tz())


def window_bounds(
    start: dt.date, end: dt.date, tz: ZoneInfo | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """The aware instants of a `[start, end)` date window in the org zone."""
    zone = tz or org_tz()
    return local_midnight(start, zone), local_midnight(end, zone)


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Mondays from the week of `first` through the week of `last`, inclusive."""
    monday = first - dt.timedelta(days=first.weekday())
    out = []
    while monday <= last:
        out.append(monday)
        monday += dt.timedelta(days=7)
    return out
