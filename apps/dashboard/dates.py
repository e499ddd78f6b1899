"""The date range of the overview and the team page: a preset (the last N weeks, today
included) or custom dates, as `[start, end)` local dates in the organization's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from apps.metrics import selectors as metrics

PRESETS: dict[str, tuple[int, str]] = {
    "4w": (4, "Last 4 weeks"),
    "13w": (13, "Last 13 weeks"),
    "26w": (26, "Last 26 weeks"),
    "52w": (52, "Last 52 weeks"),
}
DEFAULT_PRESET = "13w"
MAX_RANGE_DAYS = 3 * 52 * 7  # three years: enough for a review, small enough to draw


@dataclass(frozen=True)
class DateRange:
    """A window `[start, end)` of local dates in the organization's time zone."""

    start: dt.date
    end: dt.date
    preset_key: str | None = None

    @classmethod
    def preset(cls, key: str, today: dt.date) -> DateRange:
        """This week so far and the N - 1 weeks before it (the worker pre-computes these)."""
        weeks, _label = PRESETS[key]
        start, end = metrics.preset_window(weeks, today=today)
        return cls(start=start, end=end, preset_key=key)

    @classmethod
    def custom(cls, first_day: dt.date, last_day: dt.date) -> DateRange:
        return cls(start=first_day, end=last_day + dt.timedelta(days=1))

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> DateRange:
        """The range of the same length just before this one."""
        return DateRange(start=self.start - dt.timedelta(days=self.days), end=self.start)

    @property
    def query(self) -> str:
        if self.preset_key:
            return f"range={self.preset_key}"
        return f"start={self.start.isoformat()}&end={self.last_day.isoformat()}"

    @property
    def label(self) -> str:
        if self.preset_key:
            return PRESETS[self.preset_key][1]
        return f"{_day(self.start)} to {_day(self.last_day)}"

    @property
    def span(self) -> str:
        return f"{_day(self.start)} \u2013 {_day(self.last_day)}"

    @property
    def chart_start(self) -> dt.date:
        """The Monday of the first week: weekly buckets are whole ISO weeks."""
        return self.start - dt.timedelta(days=self.start.weekday())

    def mondays(self) -> list[dt.date]:
        monday, out = self.chart_start, []
        while monday < self.end:
            out.append(monday)
            monday += dt.timedelta(days=7)
        return out


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"


def preset_links(current: DateRange, extra: str = "") -> list[dict[str, Any]]:
    """The preset ranges as links; `extra` (a query string) is kept on each of them."""
    tail = f"&{extra}" if extra else ""
    return [
        {
            "key": key,
            "label": label,
            "query": f"range={key}{tail}",
            "active": current.preset_key == key,
        }
        for key, (_weeks, label) in PRESETS.items()
    ]
