"""Reading GitHub `deployment_status` and PagerDuty v3 payloads into what execdash needs.

Only the fields used are read; unknown extra fields are ignored. A field that is used but
missing or of the wrong type raises PayloadError naming it (the receiver answers 400).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core import bounds


class PayloadError(ValueError):
    """The body cannot be read; the message says why (shown to the sender)."""


FORM_ENCODED = "application/x-www-form-urlencoded"
GITHUB_FORM_ENCODED = (
    "The body is form-encoded (`payload=…`), GitHub's default content type: in the "
    "repository's Settings → Webhooks → Edit, set Content type to application/json, then "
    "redeliver."
)


def github_form_encoded(body: bytes, content_type: str) -> bool:
    """A delivery sent with GitHub's default content type, `application/x-www-form-urlencoded`:
    the JSON is the `payload` field of a form. Told apart from a malformed JSON body so the
    admin learns which setting to change (execdash reads the JSON content type only)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == FORM_ENCODED or body.lstrip()[:8] == b"payload="


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadError("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(f"The body is not valid JSON: {exc.msg} at line {exc.lineno}.") from None
    if not isinstance(data, dict):
        raise PayloadError("The body must be a JSON object.")
    for path in bounds.nul_paths(data):
        raise PayloadError(f"`{'.'.join(path)}`: {bounds.NUL_MESSAGE}")
    return data


def _object(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"`{where}{key}` must be an object.")
    return value


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise PayloadError(f"`{where}{key}` must be a non-empty string.")
    return value.strip()


def _moment(value: Any, name: str) -> dt.datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise PayloadError(f"`{name}` must be an ISO 8601 timestamp.")
    if timezone.is_naive(parsed):
        raise PayloadError(f"`{name}` must carry a time zone offset.")
    if (problem := bounds.instant_problem(parsed)) is not None:
        raise PayloadError(f"`{name}`: {problem}")
    return parsed


# --- GitHub ------------------------------------------------------------------------------

SUCCEEDED_STATES = frozenset({"success"})
FAILED_STATES = frozenset({"failure", "error"})
PENDING_STATES = frozenset({"in_progress", "queued", "pending"})


@dataclass(frozen=True)
class GithubDeploymentStatus:
    status_id: str
    state: str
    environment: str
    deployment_id: str
    service: str
    version: str
    deployed_at: dt.datetime
    deployed_by: str
    first_commit_at: dt.datetime | None
    change_count: int | None


def _deployment_payload(deployment: dict[str, Any]) -> dict[str, Any]:
    """GitHub passes the deployment's `payload` through as given: an object or a string."""
    raw = deployment.get("payload")
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return {}
    return raw if isinstance(raw, dict) else {}


def parse_github_deployment_status(data: dict[str, Any]) -> GithubDeploymentStatus:
    status = _object(data, "deployment_status", "")
    deployment = _object(data, "deployment", "")
    repository = _object(data, "repository", "")
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    state = _text(status, "state", "deployment_status.").lower()
    environment = _text(status, "environment", "deployment_status.", required=False) or _text(
        deployment, "environment", "deployment.", required=False
    )
    extra = _deployment_payload(deployment)
    service = extra.get("service") if isinstance(extra.get("service"), str) else ""
    service = (service or "").strip() or _text(repository, "name", "repository.")
    sha = _text(deployment, "sha", "deployment.")
    ref = _text(deployment, "ref", "deployment.", required=False)
    first_commit_at = None
    if extra.get("first_commit_at") not in (None, ""):
        first_commit_at = _moment(extra["first_commit_at"], "deployment.payload.first_commit_at")
    change_count = None
    if extra.get("change_count") not in (None, ""):
        raw_count = extra["change_count"]
        if isinstance(raw_count, bool) or not isinstance(raw_count, int) or raw_count < 0:
            raise PayloadError("`deployment.payload.change_count` must be a whole number ≥ 0.")
        change_count = raw_count
    version = f"{ref}@{sha[:7]}" if ref else sha[:7]
    return GithubDeploymentStatus(
        status_id=_text(status, "id", "deployment_status."),
        state=state,
        environment=environment,
        deployment_id=_text(deployment, "id", "deployment."),
        service=service[:120],
        version=version[:120],
        deployed_at=_moment(status.get("created_at"), "deployment_status.created_at"),
        deployed_by=str((sender or {}).get("login") or "")[:150],
        first_commit_at=first_commit_at,
        change_count=change_count,
    )


# --- PagerDuty ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PagerdutyEvent:
    event_id: str
    event_type: str
    resource_type: str
    occurred_at: dt.datetime
    agent: str
    data: dict[str, Any]


@dataclass(frozen=True)
class PagerdutyIncident:
    incident_id: str
    title: str
    service: str
    urgency: str
    created_at: dt.datetime | None


def parse_pagerduty_event(data: dict[str, Any]) -> PagerdutyEvent:
    event = _object(data, "event", "")
    agent = event.get("agent") if isinstance(event.get("agent"), dict) else {}
    payload = event.get("data")
    return PagerdutyEvent(
        event_id=_text(event, "id", "event."),
        event_type=_text(event, "event_type", "event."),
        resource_type=_text(event, "resource_type", "event.", required=False),
        occurred_at=_moment(event.get("occurred_at"), "event.occurred_at"),
        agent=str((agent or {}).get("summary") or "")[:150],
        data=payload if isinstance(payload, dict) else {},
    )


def parse_pagerduty_incident(event: PagerdutyEvent) -> PagerdutyIncident:
    data = event.data
    if not data:
        raise PayloadError("`event.data` must be the incident object.")
    incident_id = _text(data, "id", "event.data.")
    title = _text(data, "title", "event.data.", required=False)
    if not title:
        number = data.get("number")
        title = f"PagerDuty incident {number or incident_id}"
    service = data.get("service") if isinstance(data.get("service"), dict) else {}
    created_at = None
    if data.get("created_at") not in (None, ""):
        created_at = _moment(data["created_at"], "event.data.created_at")
    return PagerdutyIncident(
        incident_id=incident_id,
        title=title[:200],
        service=str((service or {}).get("summary") or "")[:120],
        urgency=str(data.get("urgency") or "").lower(),
        created_at=created_at,
    )
