"""Refuses a query string that holds U+0000 before any view reads it (apps.core.bounds):
PostgreSQL cannot compare or store such text, so every `?team=`, `?kind=` or `?start=` of
every page and API route would otherwise need its own guard. Under /api/ it also refuses a
parameter given twice (every API parameter takes one value; which one counted would
otherwise be a guess).

The API answers its JSON error shape (a 422 naming the parameter); a page answers the 400
page naming it. Form bodies are checked by the forms themselves (Django's CharField refuses
NUL), JSON bodies by the API's parser and the webhooks' reader.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from apps.core.bounds import NUL, NUL_MESSAGE, nul_escaped


def nul_parameters(request: HttpRequest) -> list[str]:
    """The query parameters whose name or value holds U+0000."""
    return sorted(
        {
            nul_escaped(name)
            for name, values in request.GET.lists()
            if NUL in name or any(NUL in value for value in values)
        }
    )


REPEATED_MESSAGE = "Give this parameter once."


def repeated_parameters(request: HttpRequest) -> list[str]:
    return sorted(name for name, values in request.GET.lists() if len(values) > 1)


class RefuseNulQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        names = nul_parameters(request)
        api = request.path.startswith("/api/")
        if api and not names:
            repeated = repeated_parameters(request)
            if repeated:
                return JsonResponse(
                    {
                        "detail": "The query string is not valid: see errors.",
                        "errors": {name: [REPEATED_MESSAGE] for name in repeated},
                    },
                    status=422,
                )
        if not names:
            return self.get_response(request)
        if api:
            return JsonResponse(
                {
                    "detail": "The query string is not valid: see errors.",
                    "errors": {name: [NUL_MESSAGE] for name in names},
                },
                status=422,
            )
        return render(
            request, "400.html", {"parameters": names, "message": NUL_MESSAGE}, status=400
        )
