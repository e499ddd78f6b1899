"""Every error of the API is JSON: {"detail": "...", "errors": {"field": ["message", ...]}}.

The handlers here replace django-ninja's defaults so that request validation, service
validation, conflicts, missing rows and authentication failures all answer in that shape,
with the field names the API uses (never the model's internal names).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from apps.core import bounds

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)

Errors = dict[str, list[str]]

# Model and service field names → the names the API uses.
FIELD_NAMES = {
    "caused_by": "caused_by_release",
    "cause": "deploy_caused",
    NON_FIELD_ERRORS: "__all__",
}


class ApiError(HttpError):
    """An error answer with a status, a sentence, and the fields it concerns."""

    def __init__(self, status_code: int, detail: str, errors: Errors | None = None) -> None:
        super().__init__(status_code, detail)
        self.errors: Errors = errors or {}


class Conflict(DjangoValidationError):
    """The row already exists (or overlaps one that does): a 409 naming the field."""


class JsonBodyParser(Parser):
    """Parses request bodies as JSON, and says where a malformed body breaks."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body)
        except UnicodeDecodeError as exc:
            raise ApiError(400, "The request body is not UTF-8.", {"body": [str(exc)]}) from exc
        except json.JSONDecodeError as exc:
            message = f"Malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            raise ApiError(400, "The request body is not valid JSON.", {"body": [message]}) from exc
        # Text with U+0000 anywhere in the body is refused, naming each field (bounds.py).
        paths = [".".join(path) or WHOLE_BODY for path in bounds.nul_paths(data)]
        if paths:
            raise ApiError(
                422,
                "The request is not valid: see errors.",
                {path: [bounds.NUL_MESSAGE] for path in paths},
            )
        return data  # type: ignore[no-any-return]


def field_errors(errors: Mapping[str, Iterable[str]]) -> Errors:
    """Service errors keyed by model field, re-keyed by API field."""
    out: Errors = {}
    for name, messages in errors.items():
        out.setdefault(FIELD_NAMES.get(name, name), []).extend(str(m) for m in messages)
    return out


def _django_errors(exc: DjangoValidationError) -> Errors:
    if hasattr(exc, "error_dict"):
        return field_errors({k: v for k, v in exc.message_dict.items()})
    return {"__all__": list(exc.messages)}


OFFSET_MESSAGE = (
    "Give a time zone offset, e.g. 2026-03-02T14:05:00+01:00 or 2026-03-02T13:05:00Z; "
    "a time without one is never guessed."
)
MESSAGES = {
    "timezone_aware": OFFSET_MESSAGE,
    "extra_forbidden": "Unknown field.",
    "missing": "This field is required.",
}
WHOLE_BODY = "body"


def _request_errors(exc: NinjaValidationError) -> tuple[int, str, Errors]:
    """Map pydantic's errors (with their `loc`) to API fields, and choose the status.

    An offset-less timestamp, or a body that is not a JSON object, is a 400; any other
    malformed field is a 422.
    """
    errors: Errors = {}
    status = 422
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        kind = error.get("type", "")
        source = loc[0] if loc else ""
        # Bodies are read into one parameter: ("body", "payload", "field", ...).
        rest = loc[2:] if source == "body" else loc[1:]
        if source == "body" and not rest:
            field = WHOLE_BODY
            message = (
                "Send a JSON object in the request body."
                if kind == "missing"
                else "The request body must be a JSON object."
            )
            status = 400
        else:
            field = ".".join(rest) or source or WHOLE_BODY
            message = MESSAGES.get(kind) or str(error.get("msg", "Invalid value."))
            message = message.removeprefix("Value error, ")
            if kind == "timezone_aware":
                status = 400
        errors.setdefault(field, []).append(message)
    detail = (
        "A timestamp has no time zone offset."
        if any(e.get("type") == "timezone_aware" for e in exc.errors)
        else "The request is not valid: see errors."
    )
    return status, detail, errors


UNAUTHENTICATED = "Authentication required: send a valid token as 'Authorization: Bearer <token>'."
UNAUTHENTICATED_ERRORS: Errors = {"Authorization": ["Missing, unknown or revoked token."]}
CONFLICT = "It conflicts with what already exists: see errors."


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, detail: str, errors: Errors | None = None
) -> HttpResponse:
    response = api.create_response(
        request, {"detail": detail, "errors": errors or {}}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="execdash"'
    return response


def install(api: NinjaAPI) -> None:
    """Register the JSON error handlers on `api`."""

    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(api, request, exc.status_code, exc.message, exc.errors)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(api, request, 401, UNAUTHENTICATED, UNAUTHENTICATED_ERRORS)

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        cause = exc.__cause__
        if isinstance(cause, ApiError):  # raised while parsing the body
            return error_response(api, request, cause.status_code, cause.message, cause.errors)
        return error_response(api, request, exc.status_code, str(exc))

    @api.exception_handler(NinjaValidationError)
    def _invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        status, detail, errors = _request_errors(exc)
        return error_response(api, request, status, detail, errors)

    @api.exception_handler(Conflict)
    def _exists(request: HttpRequest, exc: Conflict) -> HttpResponse:
        return error_response(api, request, 409, CONFLICT, _django_errors(exc))

    @api.exception_handler(DjangoValidationError)
    def _invalid_data(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return error_response(
            api, request, 422, "The data is not valid: see errors.", _django_errors(exc)
        )

    @api.exception_handler(IntegrityError)
    def _conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        logger.info("API write conflicted with a database rule: %s", exc)
        return error_response(
            api,
            request,
            409,
            "The write conflicts with existing data (a concurrent request may have made it "
            "first); nothing was saved. Retry the request.",
        )

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, 404, "Not found.")
