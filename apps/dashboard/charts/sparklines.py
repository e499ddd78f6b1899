"""Inline SVG sparklines: the overview's four small trends per team card."""

from __future__ import annotations

import html
from collections.abc import Sequence

from django.utils.safestring import SafeString, mark_safe

SPARK_WIDTH = 96
SPARK_HEIGHT = 24


def sparkline_svg(values: Sequence[float | None], *, label: str) -> SafeString:
    """A tiny inline SVG line of `values` (gaps where None); no script, a few hundred bytes.

    `label` is what a screen reader hears ("time to restore, last 12 weeks"). The overview
    draws four per team, so this builds the markup directly: the only text in it is the
    label, escaped here; everything else is numbers computed below.
    """
    pad = 2.0
    width, height = SPARK_WIDTH, SPARK_HEIGHT
    known = [v for v in values if v is not None]
    if not known:
        return mark_safe(  # noqa: S308  (numbers and the escaped label only)
            f'<svg class="sparkline sparkline-empty" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{html.escape(label)}: no data">'
            f'<line x1="{pad}" y1="{height / 2}" x2="{width - pad}" y2="{height / 2}"/></svg>'
        )
    lo, hi = min(known), max(known)
    span = hi - lo or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    inner = height - 2 * pad

    def point(i: int, v: float) -> tuple[float, float]:
        y = height - pad - (v - lo) / span * inner if hi != lo else height / 2
        return round(pad + i * step, 1), round(y, 1)

    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(point(i, v))
    parts = []
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(f"{x},{y}" for x, y in seg)}"/>')
        elif seg:
            parts.append(f'<circle cx="{seg[0][0]}" cy="{seg[0][1]}" r="1.5"/>')
    last_index = max(i for i, v in enumerate(values) if v is not None)
    last_x, last_y = point(last_index, values[last_index])  # type: ignore[arg-type]
    return mark_safe(  # noqa: S308  (numbers and the escaped label only)
        f'<svg class="sparkline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">'
        f'{"".join(parts)}<circle class="sparkline-last" cx="{last_x}" cy="{last_y}" r="2"/>'
        "</svg>"
    )
