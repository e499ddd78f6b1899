"""How the record services sort what they are given (see the README, "Imperfect records").

Refused: what cannot be stored truthfully — an impossible order of times, a time without
an offset, an unknown team, release, status or severity. The service raises
ValidationError naming each field, and nothing is saved.

Stored and flagged: what is plausible but imperfect — e.g. a first commit after the
deployment (clock skew, a rebase, a cherry-pick). The row is saved, and the service returns
a RecordWarning per flag, which the API answers with and the pages show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

OFFSET_MESSAGE = "Give a time zone offset, e.g. +01:00 or Z."


@dataclass(frozen=True)
class RecordWarning:
    """A flag on a stored record: which field, and what it means for the numbers."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Findings:
    """Collects a service's refusals (errors) and flags (warnings) on one record."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[RecordWarning] = field(default_factory=list)

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def flag(self, name: str, message: str) -> None:
        self.warnings.append(RecordWarning(name, message))

    def ok(self, *names: str) -> bool:
        """None of `names` has been refused so far."""
        return not any(name in self.errors for name in names)

    def require_offsets(self, data: dict[str, Any], names: tuple[str, ...]) -> None:
        for name in names:
            value: dt.datetime | None = data.get(name)
            if value is not None and timezone.is_naive(value):
                self.refuse(name, OFFSET_MESSAGE)

    def result(self) -> list[RecordWarning]:
        """Raise ValidationError({field: [messages]}) if anything was refused; otherwise the
        warnings."""
        if self.errors:
            raise ValidationError(self.errors)
        return list(self.warnings)
