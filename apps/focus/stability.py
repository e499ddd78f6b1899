"""The stability-first rule: a throughput focus while stability is poor earns a warning.

Stability comes first (PRODUCT.md): a team that declares a throughput focus while its change
failure rate or time to restore sits at a medium or low DORA level is told so, with the
numbers. The dashboard shows it on the overview's cards and the team page; the API can
give the same text.
"""

from __future__ import annotations

from typing import Any

from apps.core.formatting import LEVEL_LABELS, format_duration, format_rate
from apps.focus.models import FocusKind, FocusPeriod

POOR_STABILITY = ("low", "medium")


def stability_warnings(focus: FocusPeriod | None, window: Any) -> list[str]:
    """ "Throughput focus while change failure rate is 22 % (low)": stability comes first.

    A team that declares a throughput focus while its time to restore or change failure
    rate sits at a medium or low DORA level is told so, with the numbers.
    """
    if window is None:
        return []
    return stability_warnings_of(
        focus,
        levels=window.levels or {},
        change_failure_rate=window.change_failure_rate,
        ttr_median=window.time_to_restore.median,
    )


def stability_warnings_of(
    focus: FocusPeriod | None,
    *,
    levels: dict[str, str],
    change_failure_rate: float | None,
    ttr_median: float | None,
) -> list[str]:
    """The same rule from the numbers alone (a cached team card keeps only those)."""
    if focus is None or focus.kind.slug != FocusKind.THROUGHPUT:
        return []
    poor = []
    if levels.get("change_failure_rate") in POOR_STABILITY:
        poor.append(
            f"change failure rate is {format_rate(change_failure_rate)} "
            f"({LEVEL_LABELS[levels['change_failure_rate']]})"
        )
    if levels.get("time_to_restore") in POOR_STABILITY:
        poor.append(
            f"time to restore is {format_duration(ttr_median)} "
            f"({LEVEL_LABELS[levels['time_to_restore']]})"
        )
    if not poor:
        return []
    return [f"{focus.kind.name} focus while {' and '.join(poor)}"]
