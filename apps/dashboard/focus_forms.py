"""Forms of the focus pages: propose (and edit), align or send back, revisit.

They parse and shape input; the rules (overlaps, signals, the trade-off, which step is
allowed) live in apps.focus.services, whose errors the views put next to these fields.
Success signals are a fixed number of repeated rows (metric, comparator, target); an empty
row is ignored, so no JavaScript is needed to add one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from apps.core import bounds
from apps.focus.catalog import COMPARATOR_CHOICES, METRIC_CHOICES, METRICS
from apps.focus.models import FocusKind
from apps.focus.services import DECISIONS, default_revisit_on

SIGNAL_ROWS = 4
DATE_ERRORS = {"invalid": "Enter a date, e.g. 2026-03-02."}

# The success signal a new proposal of a kind starts with (METRICS.md: a knowledge-sharing
# focus is judged by the bus factor); the manager may change or clear it.
KIND_DEFAULT_SIGNALS: dict[str, list[dict[str, Any]]] = {
    FocusKind.KNOWLEDGE_SHARING: [{"metric": "bus_factor", "comparator": ">=", "target": 2}],
}


def kind_prefill(kind: FocusKind) -> dict[str, Any]:
    """A new proposal's initial kind and, for a kind that has one, its default signal."""
    return FocusProposalForm.initial_from(
        {"kind": kind, "success_signals": KIND_DEFAULT_SIGNALS.get(kind.slug, [])}
    )


def signals_with_kind_defaults(data: QueryDict) -> QueryDict:
    """The posted form with the chosen kind's default success signals in the signal rows,
    when every row is still empty; anything the person typed in a row is kept as it is."""
    parts = ("metric", "comparator", "target")
    rows = range(1, SIGNAL_ROWS + 1)
    if any((data.get(f"signal_{row}_{part}") or "").strip() for row in rows for part in parts):
        return data
    pk = bounds.row_id(data.get("kind") or "")
    kind = FocusKind.objects.filter(pk=pk).first() if pk is not None else None
    if kind is None or kind.slug not in KIND_DEFAULT_SIGNALS:
        return data
    filled = data.copy()
    for name, value in kind_prefill(kind).items():
        if name.startswith("signal_"):
            filled[name] = str(value)
    return filled


def date_field(*, label: str, required: bool, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages=DATE_ERRORS,
        validators=[bounds.validate_day],
    )


def _unit(metric: str) -> str:
    info = METRICS.get(metric)
    return info.unit if info else ""


class FocusProposalForm(forms.Form):
    kind = forms.ModelChoiceField(
        label="Focus",
        queryset=FocusKind.objects.order_by("name"),
        empty_label="Choose a focus…",
        error_messages={
            "required": "Choose what the team focuses on.",
            "invalid_choice": "Choose one of the focus kinds.",
        },
    )
    starts_on = date_field(label="Starts on", required=True)
    ends_on = date_field(
        label="Ends on", required=False, help_text="The last day. Leave empty while it runs."
    )
    rationale = forms.CharField(
        label="Why this focus, now?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the team chose this focus."},
    )
    tradeoff_metrics = forms.MultipleChoiceField(
        label="What may get worse meanwhile",
        choices=METRIC_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="The trade-off the team accepts; the cards show these as an expected cost.",
        error_messages={"required": "Choose the metrics the team accepts may get worse."},
    )
    tradeoff = forms.CharField(
        label="Why the team accepts it",
        max_length=200,
        required=False,
        help_text="One sentence, e.g. “Fewer deploys while we add canaries.”",
    )
    revisit_on = date_field(label="Revisit on", required=False)
    note = forms.CharField(
        label="Note for the history",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Anything the person who signs it off should know.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(1, SIGNAL_ROWS + 1):
            self.fields[f"signal_{row}_metric"] = forms.ChoiceField(
                label=f"Signal {row}: metric",
                choices=[("", "Choose a metric…"), *METRIC_CHOICES],
                required=False,
            )
            self.fields[f"signal_{row}_comparator"] = forms.ChoiceField(
                label=f"Signal {row}: comparator",
                choices=[("", "…"), *COMPARATOR_CHOICES],
                required=False,
            )
            self.fields[f"signal_{row}_target"] = forms.CharField(
                label=f"Signal {row}: target", required=False, max_length=40
            )
        self.signal_errors: list[str] = []

    @classmethod
    def initial_from(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Initial data from a proposal's fields (an existing period, or a prefill)."""
        initial = {
            k: v
            for k, v in values.items()
            if k in ("starts_on", "ends_on", "rationale", "tradeoff", "revisit_on")
        }
        kind = values.get("kind")
        if kind is not None:
            initial["kind"] = kind.pk if isinstance(kind, FocusKind) else kind
        initial["tradeoff_metrics"] = list(values.get("tradeoff_metrics") or [])
        for row, signal in enumerate(values.get("success_signals") or [], start=1):
            if row > SIGNAL_ROWS or not isinstance(signal, dict):
                break
            target = signal.get("target")
            if isinstance(target, float) and target.is_integer():
                target = int(target)
            unit = _unit(str(signal.get("metric", "")))
            text = f"{target} {unit}".strip() if isinstance(target, int | float) else target
            initial[f"signal_{row}_metric"] = signal.get("metric", "")
            initial[f"signal_{row}_comparator"] = signal.get("comparator", "")
            initial[f"signal_{row}_target"] = text or ""
        return initial

    def signal_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (
                self[f"signal_{row}_metric"],
                self[f"signal_{row}_comparator"],
                self[f"signal_{row}_target"],
            )
            for row in range(1, SIGNAL_ROWS + 1)
        ]

    def success_signals(self) -> list[dict[str, Any]]:
        """The rows with anything in them, as the service takes them (it reads the units)."""
        data = getattr(self, "cleaned_data", {})
        out = []
        for row in range(1, SIGNAL_ROWS + 1):
            metric = data.get(f"signal_{row}_metric") or ""
            comparator = data.get(f"signal_{row}_comparator") or ""
            target = (data.get(f"signal_{row}_target") or "").strip()
            if metric or comparator or target:
                out.append({"metric": metric, "comparator": comparator, "target": target})
        return out

    def default_revisit(self) -> dt.date | None:
        """The revisit date used when the field stays empty (for the help under it)."""
        starts_on = getattr(self, "cleaned_data", {}).get("starts_on")
        if starts_on is None and not self.is_bound:
            starts_on = self.initial.get("starts_on")
        return default_revisit_on(starts_on) if isinstance(starts_on, dt.date) else None

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned values as the focus services take them (the ones that parsed)."""
        data = getattr(self, "cleaned_data", {})
        return {
            "kind": data.get("kind"),
            "starts_on": data.get("starts_on"),
            "ends_on": data.get("ends_on"),
            "rationale": (data.get("rationale") or "").strip(),
            "success_signals": self.success_signals(),
            "tradeoff_metrics": list(data.get("tradeoff_metrics") or []),
            "tradeoff": (data.get("tradeoff") or "").strip(),
            "revisit_on": data.get("revisit_on"),
        }

    def apply_service_errors(self, error: ValidationError, *, skip: set[str]) -> None:
        """A service's errors next to the fields; the signals' under the signal rows (and in
        the summary at the top)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            if field in skip:
                continue
            if field == "success_signals":
                self.signal_errors.extend(messages)
                self.add_error(None, [f"Success signals: {m}" for m in messages])
            else:
                self.add_error(field if field in self.fields else None, messages)


class FocusAlignForm(forms.Form):
    decision = forms.ChoiceField(
        label="Your decision",
        choices=[
            ("align", "Align: sign it off"),
            ("send_back", "Send it back to the manager with a comment"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose to align it or to send it back."},
    )
    note = forms.CharField(
        label="Your comment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when sending it back: the manager sees it on the period's page.",
    )


class FocusRevisitForm(forms.Form):
    decision = forms.ChoiceField(
        label="Your decision",
        choices=list(DECISIONS.items()),
        widget=forms.RadioSelect,
        error_messages={"required": "Choose keep, change or close."},
    )
    revisit_on = date_field(
        label="Next revisit on", required=False, help_text="Needed when you keep it."
    )
    note = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why, in a sentence, for whoever reads the history later.",
        error_messages={"required": "Say in a sentence why, for whoever reads the history later."},
    )
