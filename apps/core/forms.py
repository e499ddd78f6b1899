"""Form pieces every record form shares: the date-time field in the organization's time
zone, putting a service's errors next to the fields, and the filter form of a list page;
and the login forms (the product's and the admin's).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from apps.core import bounds

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_ERRORS = {"invalid": "Enter a date and time, e.g. 2025-03-14 09:30."}


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's date-time picker. Values are wall-clock times in the current time zone
    (the organization's, settings.EXECDASH_TIME_ZONE), which the form names beside it.
    """

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"step": "60", **(attrs or {})}, format=DATETIME_LOCAL_FORMAT)


def local_datetime_field(*, label: str, required: bool, help_text: str = "") -> forms.Field:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=LocalDateTimeInput(),
        error_messages=DATETIME_ERRORS,
        validators=[bounds.validate_instant],
    )


def apply_service_errors(
    form: forms.Form,
    error: ValidationError,
    *,
    rename: dict[str, str] | None = None,
    skip: set[str] | None = None,
) -> None:
    """Put a service's ValidationError({field: [messages]}) next to the form's fields.
    `rename` maps a service field to the form field that chose it; fields in `skip` keep
    the errors they have.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        name = (rename or {}).get(field, field)
        if name in (skip or ()):
            continue
        form.add_error(name if name in form.fields else None, messages)


class TeamRecordChoiceField(forms.ModelChoiceField):
    """A menu of one team's records; the form sets the queryset for the team. A subclass
    names its `model`, the `plural` of its records and how a record reads in the menu.
    """

    model: type[Any]
    plural: str

    def __init__(self, *, required_message: str = "", **kwargs: Any) -> None:
        messages = {"invalid_choice": f"Choose one of this team's {self.plural}."}
        if required_message:
            messages["required"] = required_message
        super().__init__(
            queryset=self.model._default_manager.none(), error_messages=messages, **kwargs
        )


class ListFilterForm(forms.Form):
    """The filters above a list: every field is an optional menu, and `service` lists the
    services the team's rows name.
    """

    service = forms.ChoiceField(choices=[("", "Any service")], required=False)

    def __init__(self, *args: Any, services: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", "Any service"), *((s, s) for s in services)]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, str]:
        """The valid filters; a value that is not a choice is ignored rather than an error."""
        self.is_valid()
        return {name: value for name in self.fields if (value := self.cleaned_data.get(name))}

    def described(self) -> str:
        """The filters in words, for an empty result: "status, severity or service"."""
        names = [str(field.label or name).lower() for name, field in self.fields.items()]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _username_length_checked(form: AuthenticationForm) -> None:
    """Django's login forms give the username input a maxlength but never check it, so a
    longer name reached authenticate(), and django-axes' record of the failed attempt (a
    username of at most 255 characters) was a 500 on PostgreSQL. No user has a longer name
    than the field holds: it is refused before anyone is looked up."""
    field = form.fields["username"]
    if isinstance(field, forms.CharField) and field.max_length is not None:
        field.validators.append(MaxLengthValidator(field.max_length))


class LoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _username_length_checked(self)


class AdminLoginForm(AdminAuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _username_length_checked(self)
