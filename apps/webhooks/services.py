"""Writes of the webhooks app: creating and managing webhooks, and receiving deliveries.

A delivery is checked (signature over the raw body, then the JSON), then the release or
incident is written through the releases/incidents services together with the delivery's
log row, in one transaction: the services mark the affected weeks dirty and schedule the
recompute on commit, as every other write does. Redeliveries change nothing: an event id
already accepted for this webhook is acknowledged and skipped, and the writes themselves
are upserts keyed by the provider's id namespaced by the webhook (`external_id`,
`Webhook.record_key`): two senders' ids never name the same record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from apps.core.records import Ingested
from apps.core.validation import RecordWarning
from apps.incidents.models import Incident
from apps.incidents.selectors import incident_warnings
from apps.incidents.services import (
    incident_ingest,
    incident_locked,
    incident_resolve,
    incident_update,
)
from apps.releases.models import Release, Source
from apps.releases.services import release_ingest, release_locked
from apps.teams.models import Team
from apps.webhooks.crypto import InvalidToken, secret_open, secret_seal
from apps.webhooks.models import RETENTION_DAYS, Webhook, WebhookDelivery
from apps.webhooks.payloads import (
    FAILED_STATES,
    GITHUB_FORM_ENCODED,
    PENDING_STATES,
    SUCCEEDED_STATES,
    PagerdutyEvent,
    PagerdutyIncident,
    PayloadError,
    github_form_encoded,
    parse_github_deployment_status,
    parse_json_object,
    parse_pagerduty_event,
    parse_pagerduty_incident,
)

MAX_BODY_BYTES = 1024 * 1024
ATTEMPTS = 3
# PostgreSQL's deadlock_detected and serialization_failure: retrying the whole transaction
# is the documented remedy.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
Outcome = WebhookDelivery.Outcome


def secret_generate() -> str:
    return secrets.token_hex(32)


# --- Managing webhooks -------------------------------------------------------------------


def _clean_secret(secret: str) -> str:
    secret = secret.strip()
    if secret and (len(secret) < 16 or len(secret) > 200):
        raise ValidationError({"secret": ["A signing secret has 16 to 200 characters."]})
    return secret


@transaction.atomic
def webhook_create(
    *,
    team: Team,
    kind: str,
    environment: str = "production",
    severity_high: str = Incident.Severity.SEV2,
    severity_low: str = Incident.Severity.SEV4,
    secret: str = "",
    created_by: Any = None,
) -> tuple[Webhook, str]:
    """Create a webhook; return it with its secret, which is shown once and stored only
    encrypted. `secret` empty: a new random one (GitHub takes any; PagerDuty makes its
    own, pasted here or later with webhook_replace_secret)."""
    errors: dict[str, list[str]] = {}
    if kind not in Webhook.Kind.values:
        errors["kind"] = [f"Must be one of {', '.join(Webhook.Kind.values)}."]
    environment = (environment or "").strip()
    if kind == Webhook.Kind.GITHUB and not environment:
        errors["environment"] = ["Name the environment whose deployments count, e.g. production."]
    for name, value in (("severity_high", severity_high), ("severity_low", severity_low)):
        if value not in Incident.Severity.values:
            errors[name] = [f"Must be one of {', '.join(Incident.Severity.values)}."]
    try:
        secret = _clean_secret(secret)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    secret = secret or secret_generate()
    webhook = Webhook(
        team=team,
        kind=kind,
        environment=environment if kind == Webhook.Kind.GITHUB else "",
        severity_high=severity_high,
        severity_low=severity_low,
        secret_sealed=secret_seal(secret),
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    webhook.full_clean(exclude=["team", "created_by"], validate_constraints=False)
    webhook.save()
    return webhook, secret


@transaction.atomic
def webhook_replace_secret(*, webhook: Webhook, secret: str = "") -> str:
    """A new secret (random, or the provider's when given); the old one stops working."""
    secret = _clean_secret(secret) or secret_generate()
    webhook.secret_sealed = secret_seal(secret)
    webhook.secret_rotated_at = timezone.now()
    webhook.save(update_fields=["secret_sealed", "secret_rotated_at"])
    return secret


@transaction.atomic
def webhook_set_active(*, webhook: Webhook, active: bool) -> Webhook:
    webhook.active = active
    webhook.save(update_fields=["active"])
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    """Delete the webhook and its delivery log; the releases and incidents it wrote stay."""
    webhook.delete()


def deliveries_prune(*, now: dt.datetime | None = None) -> int:
    """Delete delivery log rows older than RETENTION_DAYS days."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted


# --- Receiving deliveries ----------------------------------------------------------------


@dataclass
class DeliveryResult:
    status: int
    outcome: str
    reason: str
    event_id: str = ""
    event_type: str = ""
    record_kind: str = ""
    record_id: int | None = None
    created: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"outcome": self.outcome, "detail": self.reason}
        if self.event_id:
            answer["event_id"] = self.event_id
        if self.record_kind:
            answer[self.record_kind] = {"id": self.record_id, "created": self.created}
        if self.outcome == Outcome.ACCEPTED:
            # As the API answers: the flags of a record stored but imperfect ([] if whole).
            answer["warnings"] = self.warnings
        return answer


def _refused(status: int, reason: str, **kw: Any) -> DeliveryResult:
    return DeliveryResult(status=status, outcome=Outcome.REFUSED, reason=reason, **kw)


def _ignored(reason: str, **kw: Any) -> DeliveryResult:
    return DeliveryResult(status=200, outcome=Outcome.IGNORED, reason=reason, **kw)


def _accepted(
    reason: str,
    *,
    kind: str,
    record: Any,
    created: bool,
    warnings: list[RecordWarning],
    **info: Any,
) -> DeliveryResult:
    """A record written; its flags (stored but imperfect) are said in the log's reason too."""
    if warnings:
        reason += " Flagged: " + " ".join(w.message for w in warnings)
    return DeliveryResult(
        status=201 if created else 200,
        outcome=Outcome.ACCEPTED,
        reason=reason,
        record_kind=kind,
        record_id=record.pk,
        created=created,
        warnings=[w.as_dict() for w in warnings],
        **info,
    )


def _log(webhook: Webhook, result: DeliveryResult, received_at: dt.datetime) -> None:
    WebhookDelivery.objects.create(
        webhook=webhook,
        received_at=received_at,
        event_id=result.event_id[:200],
        event_type=result.event_type[:100],
        outcome=result.outcome,
        reason=result.reason[:500],
        http_status=result.status,
        record_kind=result.record_kind,
        record_id=result.record_id,
    )


def delivery_log_refused(
    *, webhook: Webhook, status: int, reason: str, event_type: str = ""
) -> DeliveryResult:
    """Log a delivery refused before its body was read (e.g. too large)."""
    result = _refused(status, reason, event_type=event_type)
    _log(webhook, result, timezone.now())
    return result


def signature_problem(*, kind: str, secret: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Why the signature does not prove the body came from the provider; "" when it does."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if kind == Webhook.Kind.GITHUB:
        given = headers.get("X-Hub-Signature-256", "").strip()
        if not given:
            return "No X-Hub-Signature-256 header: the delivery is not signed."
        if not hmac.compare_digest(f"sha256={expected}".encode(), given.encode()):
            return "The X-Hub-Signature-256 signature does not match this webhook's secret."
        return ""
    header = headers.get("X-PagerDuty-Signature", "").strip()
    if not header:
        return "No X-PagerDuty-Signature header: the delivery is not signed."
    candidates = [part.strip() for part in header.split(",")]
    signed = [c[3:] for c in candidates if c.startswith("v1=")]
    # Every candidate is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(expected.encode(), c.encode()) for c in signed]
    if not any(matches):
        return "No v1 signature in X-PagerDuty-Signature matches this webhook's secret."
    return ""


def _event_type(kind: str, headers: Mapping[str, str]) -> str:
    if kind == Webhook.Kind.GITHUB:
        return headers.get("X-GitHub-Event", "")[:100]
    return ""


def delivery_receive(
    *, webhook: Webhook, body: bytes, headers: Mapping[str, str]
) -> DeliveryResult:
    """Check, apply and log one delivery. Never raises for bad input: the result says."""
    received_at = timezone.now()
    event_type = _event_type(webhook.kind, headers)
    try:
        secret = secret_open(webhook.secret_sealed)
    except InvalidToken:
        result = _refused(
            401,
            "The stored secret cannot be decrypted (the secrets key changed): rotate it.",
            event_type=event_type,
        )
        _log(webhook, result, received_at)
        return result
    problem = signature_problem(kind=webhook.kind, secret=secret, body=body, headers=headers)
    if problem:
        result = _refused(401, problem, event_type=event_type)
        _log(webhook, result, received_at)
        return result
    handler: Callable[..., DeliveryResult] = (
        _receive_github if webhook.kind == Webhook.Kind.GITHUB else _receive_pagerduty
    )
    data: dict[str, Any] = {}
    try:
        if webhook.kind == Webhook.Kind.GITHUB and github_form_encoded(
            body, headers.get("Content-Type", "")
        ):
            raise PayloadError(GITHUB_FORM_ENCODED)
        data = parse_json_object(body)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = _apply(
                    handler, webhook=webhook, data=data, headers=headers, at=received_at
                )
                break
            except (IntegrityError, OperationalError) as exc:
                # A concurrent delivery inserted the same release or incident first (a
                # unique violation), or PostgreSQL chose this transaction as a deadlock's
                # victim (writers and the worker lock dirty buckets): the transaction was
                # rolled back whole, so it is applied again. It then sees the other's row
                # and updates it, or finds the event already accepted.
                if attempt == ATTEMPTS or not _retryable(exc):
                    raise
    except PayloadError as exc:
        result = _refused(400, str(exc), **_named(webhook.kind, data, headers))
        _log(webhook, result, received_at)
    except ValidationError as exc:
        problems = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        reasons = "; ".join(
            f"{name}: {' '.join(messages)}" if name and name != "__all__" else " ".join(messages)
            for name, messages in problems.items()
        )
        result = _refused(
            422, f"execdash cannot store this: {reasons}", **_named(webhook.kind, data, headers)
        )
        _log(webhook, result, received_at)
    return result


def _named(kind: str, data: dict[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    """The event's id and type as far as they can be read, for the log of a refusal."""
    if kind == Webhook.Kind.GITHUB:
        return {
            "event_id": headers.get("X-GitHub-Delivery", "").strip()[:200],
            "event_type": headers.get("X-GitHub-Event", "")[:100],
        }
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    return {
        "event_id": str((event or {}).get("id") or "")[:200],
        "event_type": str((event or {}).get("event_type") or "")[:100],
    }


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


@transaction.atomic
def _apply(
    handler: Callable[..., DeliveryResult],
    *,
    webhook: Webhook,
    data: dict[str, Any],
    headers: Mapping[str, str],
    at: dt.datetime,
) -> DeliveryResult:
    """The record and the delivery's log row, in one transaction."""
    result = handler(webhook=webhook, data=data, headers=headers)
    _log(webhook, result, at)
    return result


def _already_accepted(webhook: Webhook, event_id: str) -> bool:
    return WebhookDelivery.objects.filter(
        webhook=webhook, event_id=event_id, outcome=Outcome.ACCEPTED
    ).exists()


# --- GitHub ------------------------------------------------------------------------------


def _receive_github(
    *, webhook: Webhook, data: dict[str, Any], headers: Mapping[str, str]
) -> DeliveryResult:
    event_type = headers.get("X-GitHub-Event", "")[:100]
    delivery_id = headers.get("X-GitHub-Delivery", "").strip()[:200]
    if event_type == "ping":
        return _ignored(
            "Ping received: GitHub reaches execdash and the signature matches.",
            event_id=delivery_id,
            event_type=event_type,
        )
    if event_type != "deployment_status":
        return _ignored(
            f"'{event_type or 'unnamed'}' events are not used; only deployment_status.",
            event_id=delivery_id,
            event_type=event_type,
        )
    status = parse_github_deployment_status(data)
    event_id = delivery_id or f"deployment_status:{status.status_id}"
    info: dict[str, Any] = {"event_id": event_id, "event_type": event_type}
    if _already_accepted(webhook, event_id):
        return _ignored("Already received: a redelivery changes nothing.", **info)
    if status.environment.casefold() != webhook.environment.casefold():
        return _ignored(
            f"Deployment to '{status.environment}', not '{webhook.environment}': ignored.", **info
        )
    if status.state in PENDING_STATES:
        return _ignored(f"State '{status.state}' is not final yet: acknowledged.", **info)
    if status.state in SUCCEEDED_STATES:
        release_status = Release.Status.SUCCEEDED
    elif status.state in FAILED_STATES:
        release_status = Release.Status.FAILED
    else:
        return _ignored(f"State '{status.state}' is not used: acknowledged.", **info)
    # Keyed per webhook: another sender's deployment of the same id is another release.
    key = webhook.record_key(status.deployment_id)
    # Found once and locked: it decides whether this status stands, then it is written over.
    existing = release_locked(team=webhook.team, source=Source.WEBHOOK, external_id=key)
    if existing is not None and existing.deployed_at > status.deployed_at:
        # Statuses may arrive out of order: the one created last describes the deployment.
        return _ignored(
            f"An older status of deployment {status.deployment_id}: the later one "
            f"({existing.status}) stands.",
            record_kind="release",
            record_id=existing.pk,
            **info,
        )
    fields: dict[str, Any] = {
        "service": status.service,
        "version": status.version,
        "deployed_at": status.deployed_at,
        "status": release_status,
        "deployed_by": status.deployed_by,
    }
    if status.first_commit_at is not None:
        fields["first_commit_at"] = status.first_commit_at
    if status.change_count is not None:
        fields["change_count"] = status.change_count
    stored = release_ingest(
        existing=existing,
        team=webhook.team,
        source=Source.WEBHOOK,
        external_id=key,
        **fields,
    )
    release = stored.record
    return _accepted(
        f"{'Recorded' if stored.created else 'Updated'} release {release.service} "
        f"{release.version} ({release_status}).",
        kind="release",
        record=release,
        created=stored.created,
        warnings=stored.warnings,
        **info,
    )


# --- PagerDuty ---------------------------------------------------------------------------

PAGERDUTY_USED = ("incident.triggered", "incident.resolved", "incident.reopened")


def _known_start(event: PagerdutyEvent, pd: PagerdutyIncident) -> dt.datetime | None:
    """When the incident began, if this event says: its `created_at`, or the moment of its
    trigger. A resolution or reopening without `created_at` does not say."""
    if pd.created_at is not None:
        return pd.created_at
    return event.occurred_at if event.event_type == "incident.triggered" else None


def _receive_pagerduty(
    *, webhook: Webhook, data: dict[str, Any], headers: Mapping[str, str]
) -> DeliveryResult:
    event = parse_pagerduty_event(data)
    info: dict[str, Any] = {"event_id": event.event_id, "event_type": event.event_type}
    if _already_accepted(webhook, event.event_id):
        return _ignored("Already received: a redelivery changes nothing.", **info)
    if event.event_type not in PAGERDUTY_USED:
        return _start_from_other_event(webhook=webhook, event=event, info=info)
    pd = parse_pagerduty_incident(event)
    severity = webhook.severity_low if pd.urgency == "low" else webhook.severity_high
    existing = incident_locked(
        team=webhook.team, source=Source.WEBHOOK, external_id=webhook.record_key(pd.incident_id)
    )
    start = _known_start(event, pd)
    describe: dict[str, Any] = {
        "title": pd.title,
        "service": pd.service,
        "severity": severity,
        # Without a known start, the first moment known stands in, flagged (start_unknown).
        "started_at": start or event.occurred_at,
        "start_unknown": start is None,
    }
    # An incident recorded from its resolution alone learns its start from the first event
    # that tells it; one whose start is known keeps it (a late trigger may only move it back).
    learned = bool(existing is not None and existing.start_unknown and start is not None)
    start_fields: dict[str, Any] = {"started_at": start, "start_unknown": False} if learned else {}

    def ingest(**extra: Any) -> Ingested[Incident]:
        return incident_ingest(
            existing=existing,
            team=webhook.team,
            source=Source.WEBHOOK,
            external_id=webhook.record_key(pd.incident_id),
            **describe,
            **extra,
        )

    def done(reason: str, incident: Incident, *, created: bool = False) -> DeliveryResult:
        if learned:
            reason += " Its start, unknown until now, is set from this event."
        return _accepted(
            reason,
            kind="incident",
            record=incident,
            created=created,
            warnings=incident_warnings(incident),
            **info,
        )

    def unchanged(reason: str, incident: Incident) -> DeliveryResult:
        """Nothing to do for the event itself; the start it told may still have been news."""
        if learned:
            incident = incident_update(incident=incident, **start_fields)
            return done(f"Updated incident “{incident.title}”: {reason.lower()}", incident)
        return _ignored(reason, record_kind="incident", record_id=incident.pk, **info)

    if event.event_type == "incident.triggered":
        if existing is not None and not learned:
            # Resolved (or reopened) before the trigger arrived: describe it, keep its state.
            describe["started_at"] = min(describe["started_at"], existing.started_at)
        stored = ingest()
        verb = "Opened" if stored.created else "Updated"
        return done(
            f"{verb} incident “{stored.record.title}” ({stored.record.severity}).",
            stored.record,
            created=stored.created,
        )
    if event.event_type == "incident.resolved":
        if existing is None:
            stored = ingest(resolved_at=event.occurred_at, resolved_by=event.agent)
            # Without `created_at`, flagged: its start unknown (the warnings say so).
            return done(
                f"Recorded incident “{stored.record.title}”, resolved (its trigger had not "
                "arrived yet).",
                stored.record,
                created=stored.created,
            )
        if existing.resolved_at == event.occurred_at:
            return unchanged("Already resolved at that time.", existing)
        incident = incident_resolve(
            incident=existing,
            resolved_at=event.occurred_at,
            resolved_by=event.agent,
            **start_fields,
        )
        return done(f"Resolved incident “{incident.title}”.", incident)
    # incident.reopened
    if existing is None:
        stored = ingest()
        return done(
            f"Recorded incident “{stored.record.title}”, open again.",
            stored.record,
            created=stored.created,
        )
    if existing.resolved_at is None:
        return unchanged("Already open.", existing)
    if existing.resolved_at > event.occurred_at:
        return unchanged("It was resolved again after this reopening: it stays resolved.", existing)
    incident = incident_update(incident=existing, resolved_at=None, **start_fields)
    return done(f"Reopened incident “{incident.title}”.", incident)


def _start_from_other_event(
    *, webhook: Webhook, event: PagerdutyEvent, info: dict[str, Any]
) -> DeliveryResult:
    """An event type that changes nothing (`incident.acknowledged`, …), except that it may
    carry the start of an incident recorded from its resolution alone: then it sets it."""
    ignored = _ignored(f"'{event.event_type}' events are not used: acknowledged.", **info)
    if event.resource_type not in ("", "incident"):
        return ignored
    try:
        pd = parse_pagerduty_incident(event)
    except PayloadError:
        return ignored
    if pd.created_at is None:
        return ignored
    existing = incident_locked(
        team=webhook.team, source=Source.WEBHOOK, external_id=webhook.record_key(pd.incident_id)
    )
    if existing is None or not existing.start_unknown:
        return ignored
    incident = incident_update(incident=existing, started_at=pd.created_at, start_unknown=False)
    return _accepted(
        f"Set the start of incident “{incident.title}”, unknown until now, from its "
        f"'{event.event_type}' event.",
        kind="incident",
        record=incident,
        created=False,
        warnings=incident_warnings(incident),
        **info,
    )
