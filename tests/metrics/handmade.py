"""A small history with every edge case of METRICS.md, and its hand-computed answer.

Window: [2026-03-02, 2026-03-16), 14 days, organization time zone UTC.

Releases of "payments" (deployed, status, first commit → lead time, person, service):
  R1 03-02 00:00:00 (the window's first instant)  succeeded  lead 86400        ann  api
  R2 03-03 10:00    failed                       lead 7200           bob  api
  R3 03-04 10:00    succeeded                    lead 0 (dropped)    bob  api
  R4 03-05 10:00    rolled_back, and caused I3   lead -3600 (dropped) bob web
  R5 03-09 10:00    succeeded, caused I1 and I2  lead 3600           cat  web
  R6 03-10 10:00    succeeded, fixes I1 (rework) lead 172800         ann  api
  outside: 03-01 23:59:59.999999 and 03-16 00:00:00 (the end is exclusive)
  → deployments 6; failed R2, R4, R5 = 3 (two incidents of R5 make one failed release;
    R4 is failed by status and by link, counted once); rework 1; changes 1+2+…+6 = 21
  → lead time samples 3600, 7200, 86400, 172800: median (7200+86400)/2 = 46800,
    mean 67500, p90 86400 + 0.7 * 86400 = 146880

Incidents of "payments" (started → resolved, time to restore, cause, resolved by, service):
  I1 03-09 11:00 → 12:30     5400   R5 (recovery 9000)   ann web
  I2 03-09 13:00 → 14:00     3600   R5 (recovery 14400)  cat web
  I3 03-05 12:00 → 03-06 12:00  86400  R4 (recovery 93600) bob web
  I4 03-03 09:00 → 09:00:00.5   0.5  not a deployment     cat api
  I5 03-12 08:00 → open                                     (open at the end)
  I7 03-15 23:59:59 → 03-16 00:00:01   2                  dan web (open at the end)
  outside: I6 02-27 → open (open at the end), I8 03-16 00:00:00, I9 02-20 → 03-10
  → incidents 6; time to restore 0.5, 2, 3600, 5400, 86400: median 3600,
    mean 95402.5 / 5 = 19080.5, p90 5400 + 0.6 * 81000 = 54000
  → recovery 9000, 14400, 93600: median 14400, mean 39000, p90 14400 + 0.8 * 79200 = 77760
  → open at 03-16 00:00: I5, I6, I7 = 3

Bus factor: api: ann 2 (R1, R6), bob 2 (R2, R3), cat 1 (I4) → 2 of 5 is not half → 2;
web: bob 2 (R4, I3), cat 2 (R5, I2), ann 1 (I1), dan 1 (I7) → 4 of 6 → 2. Team: 2.

Another team, "search", has one release in the window (so the organization differs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from apps.incidents.models import Incident
from apps.releases.models import Release
from tests.factories import IncidentFactory, ReleaseFactory, TeamFactory

UTC = dt.UTC
START = dt.date(2026, 3, 2)
END = dt.date(2026, 3, 16)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0, month: int = 3):
    return dt.datetime(2026, month, day, hour, minute, second, micro, tzinfo=UTC)


def build() -> dict[str, Any]:
    payments = TeamFactory(slug="payments", name="Payments")
    search = TeamFactory(slug="search", name="Search")

    def release(n, deployed, lead=None, status="succeeded", by="", service="api", **kw):
        return ReleaseFactory(
            team=kw.pop("team", payments),
            service=service,
            version=f"1.{n}",
            deployed_at=deployed,
            first_commit_at=None if lead is None else deployed - dt.timedelta(seconds=lead),
            status=status,
            deployed_by=by,
            change_count=kw.pop("changes", n),
            **kw,
        )

    r1 = release(1, at(2), lead=86400, by="ann")
    release(2, at(3, 10), lead=7200, status="failed", by="bob")
    release(3, at(4, 10), lead=0, by="bob")
    r4 = release(4, at(5, 10), lead=-3600, status="rolled_back", by="bob", service="web")
    r5 = release(5, at(9, 10), lead=3600, by="cat", service="web")
    release(0, at(1, 23, 59, 59, 999_999), lead=60, by="ann", changes=100)
    release(7, at(16), lead=60, by="ann", changes=100)
    release(8, at(10, 11), lead=600, by="eve", team=search, changes=10)

    def incident(started, resolved=None, caused_by=None, by="", service="web", **kw):
        return IncidentFactory(
            team=kw.pop("team", payments),
            started_at=started,
            resolved_at=resolved,
            cause=kw.pop("cause", Incident.Cause.RELEASE if caused_by else Incident.Cause.UNKNOWN),
            caused_by=caused_by,
            resolved_by=by,
            service=service,
            **kw,
        )

    i1 = incident(at(9, 11), at(9, 12, 30), r5, "ann")
    incident(at(9, 13), at(9, 14), r5, "cat")
    incident(at(5, 12), at(6, 12), r4, "bob")
    incident(
        at(3, 9), at(3, 9, 0, 0, 500_000), by="cat", service="api", cause=Incident.Cause.NOT_DEPLOY
    )
    incident(at(12, 8))
    incident(at(27, 9, month=2))
    incident(at(15, 23, 59, 59), at(16, 0, 0, 1), by="dan")
    incident(at(16), at(16, 1), by="ann")
    incident(at(20, month=2), at(10), by="ann")
    release(6, at(10, 10), lead=172800, by="ann", fixes_incident=i1)
    return {"payments": payments, "search": search, "r1": r1}


PAYMENTS = {
    "team": "payments",
    "start": "2026-03-02",
    "end": "2026-03-16",
    "deployments": 6,
    "failed_deployments": 3,
    "rework_deployments": 1,
    "change_count": 21,
    "incidents": 6,
    "change_failure_rate": 0.5,
    "deployment_frequency_per_week": 3.0,
    "rework_rate": 0.166667,
    "open_incidents": 3,
    "time_to_restore_seconds": {"median": 3600.0, "mean": 19080.5, "p90": 54000.0, "n": 5},
    "failed_deployment_recovery_seconds": {
        "median": 14400.0,
        "mean": 39000.0,
        "p90": 77760.0,
        "n": 3,
    },
    "lead_time_seconds": {"median": 46800.0, "mean": 67500.0, "p90": 146880.0, "n": 4},
    "bus_factor": 2,
    "levels": {
        "deployment_frequency": "high",
        "lead_time": "not_enough_data",
        "change_failure_rate": "low",
        "time_to_restore": "high",
    },
}

# The organization adds search's release (lead time 600 s, by eve: bus factor 1).
ORGANIZATION = {
    **PAYMENTS,
    "team": None,
    "deployments": 7,
    "change_count": 31,
    "change_failure_rate": 0.428571,
    "deployment_frequency_per_week": 3.5,
    "rework_rate": 0.142857,
    # 600, 3600, 7200, 86400, 172800: median 7200, mean 270600 / 5, p90 86400 + 0.6 * 86400
    "lead_time_seconds": {"median": 7200.0, "mean": 54120.0, "p90": 138240.0, "n": 5},
    "bus_factor": 1,
    "levels": {
        "deployment_frequency": "high",
        "lead_time": "elite",
        "change_failure_rate": "low",
        "time_to_restore": "high",
    },
}


def without_freshness(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("computed_at", "weeks")}


__all__ = ["END", "ORGANIZATION", "PAYMENTS", "START", "Release", "build", "without_freshness"]
