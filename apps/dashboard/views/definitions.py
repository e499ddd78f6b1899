"""The definitions page: how every number is computed (METRICS.md, in the product's words)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.dashboard.presenters import dora_table
from apps.metrics.formulas import DORA_LEVELS, MIN_SAMPLES_FOR_LEVEL


@require_GET
def definitions(request: HttpRequest) -> HttpResponse:
    year = settings.EXECDASH_DORA_YEAR
    return render(
        request,
        "dashboard/definitions.html",
        {
            "dora_year": year,
            "dora_rows": dora_table(DORA_LEVELS[year]),
            "min_samples": MIN_SAMPLES_FOR_LEVEL,
            "org_time_zone": settings.EXECDASH_TIME_ZONE,
        },
    )
