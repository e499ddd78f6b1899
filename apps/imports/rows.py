"""Checking and writing CSV rows a batch at a time.

Why batches: a row at a time through the record services (a transaction, a lookup, an
insert and a dirty-bucket upsert each) runs at a few hundred rows a second; a 100,000-row
file must import at 2,000 or more. So a batch of rows is read, its references and existing
rows are looked up in one query each, every row goes through the services' own rules
(`release_validate`, `incident_validate`, with the same refusals and flags as the API),
and the acceptable rows are written with one bulk upsert on (team, source, external_id),
marking their weeks dirty once for the batch.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from apps.core import bounds
from apps.core.records import Source
from apps.core.timezones import week_start_of
from apps.core.validation import RecordWarning
from apps.imports.columns import (
    COLUMNS,
    CellError,
    KindColumns,
    choice,
    text,
    timestamp,
    whole_number,
    yes_no,
)
from apps.incidents.models import Incident
from apps.incidents.services import INCIDENT_FIELDS, incident_validate
from apps.metrics.services import buckets_mark_dirty, weeks_spanning
from apps.releases.models import Release
from apps.releases.services import RELEASE_FIELDS, release_validate
from apps.teams.models import Team

BATCH_SIZE = 2000
# A model field a service names in its errors, and the column that gave it.
FIELD_COLUMNS = {"caused_by": "caused_by_release", "cause": "deploy_caused"}
LENGTHS = {
    "external_id": 200,
    "service": 120,
    "version": 120,
    "deployed_by": 150,
    "title": 200,
    "resolved_by": 150,
    "summary": 100_000,
}


class FileProblem(ValueError):
    """The file as a whole cannot be imported (not CSV, not UTF-8, a required column missing)."""


@dataclass
class Row:
    """One data row of the file: what was read, and what checking it found."""

    number: int
    raw: dict[str, str]
    fields: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    refusals: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[RecordWarning] = field(default_factory=list)
    existing: Any = None
    created: bool = True
    reference: str = ""

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def refuse(self, column: str, message: str) -> None:
        self.refusals.append((column, message))


# --- reading the file ------------------------------------------------------------------

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class TextCheck:
    """Checks an upload a chunk at a time, as it is stored: it must be UTF-8 text (a BOM
    allowed) without a NUL byte. Python's csv reader passes a NUL through into a cell, where
    PostgreSQL refuses it at the write; so the file is refused here, at the upload, with the
    line to fix. Lines are the file's physical lines, as a text editor numbers them."""

    def __init__(self) -> None:
        self.line = 1
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._start = True

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        """Raises FileProblem at the first NUL byte or byte sequence that is not UTF-8."""
        if self._start and chunk:
            self._start = False
            if chunk.startswith(UTF16_BOMS):
                raise FileProblem("The file is UTF-16 text, not UTF-8. Save it as CSV UTF-8.")
        nul = chunk.find(b"\x00")
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            # `exc.object` is the decoder's pending bytes (never a newline) and the chunk.
            pending = len(exc.object) - len(chunk)
            bad = exc.start - pending
            if nul < 0 or bad < nul:
                line = self.line + exc.object.count(b"\n", 0, exc.start)
                raise FileProblem(
                    f"Line {line} of the file is not UTF-8 text (byte "
                    f"0x{exc.object[exc.start]:02X}). Save the file as CSV UTF-8."
                ) from None
        if nul >= 0:
            line = self.line + chunk.count(b"\n", 0, nul)
            raise FileProblem(
                f"Line {line} of the file holds a NUL byte (a zero byte, which text never "
                "contains): it is not a CSV text file, or it is damaged. Remove the byte, or "
                "save the file again as CSV UTF-8."
            )
        self.line += chunk.count(b"\n")


def open_text(path: str) -> io.TextIOWrapper:
    """The file as text, read a buffer at a time (never whole); a UTF-8 BOM is skipped."""
    return open(path, encoding="utf-8-sig", newline="")


def read_header(path: str, kind: str) -> tuple[list[str], list[str]]:
    """The file's columns, and notes on the ones an import ignores. Raises FileProblem."""
    spec = COLUMNS[kind]
    try:
        with open_text(path) as handle:
            first = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise FileProblem("The file is not UTF-8 text. Save it as CSV UTF-8.") from None
    except csv.Error as exc:
        raise FileProblem(f"The file is not valid CSV: {exc}.") from None
    if not first:
        raise FileProblem("The file is empty: the first line must name the columns.")
    header = [name.strip().lower() for name in first]
    named_with_nul = [number for number, name in enumerate(header, start=1) if bounds.NUL in name]
    if named_with_nul:
        raise FileProblem(
            f"The name of column {', '.join(map(str, named_with_nul))} holds U+0000: "
            f"{bounds.NUL_MESSAGE}"
        )
    duplicates = sorted({name for name in header if header.count(name) > 1 and name})
    if duplicates:
        raise FileProblem(f"Columns appear twice: {', '.join(duplicates)}.")
    missing = [name for name in spec.required if name not in header]
    if missing and len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        raise FileProblem(
            "The cells are separated by semicolons or tabs; save the file as CSV with commas."
        )
    if missing:
        raise FileProblem(
            f"The file lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the first line must name the columns; see the README)."
        )
    notes = [
        f"Column “{name}” is not a column of {kind} and is ignored."
        for name in header
        if name and name not in spec.known
    ]
    return header, notes


def read_rows(path: str, header: list[str]) -> Iterator[tuple[int, dict[str, str], bool]]:
    """(row number, cells by column, whether the row has more cells than the header) for
    every data row, streamed. Row numbers count the header as row 1, as a spreadsheet does.
    Raises FileProblem when the file stops being readable."""
    width = len(header)
    number = 1
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for cells in reader:
                number += 1
                if not cells or not any(cell.strip() for cell in cells):
                    continue
                raw = dict(zip(header, cells, strict=False))
                yield number, raw, len(cells) > width
    except UnicodeDecodeError:
        raise FileProblem(
            f"Row {number + 1} is not UTF-8 text. Save the file as CSV UTF-8."
        ) from None
    except csv.Error as exc:
        raise FileProblem(f"Row {number + 1} is not valid CSV: {exc}.") from None


def batches(
    rows: Iterator[tuple[int, dict[str, str], bool]], size: int = BATCH_SIZE
) -> Iterator[list[tuple[int, dict[str, str], bool]]]:
    batch: list[tuple[int, dict[str, str], bool]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- checking a batch ------------------------------------------------------------------


def derived_key(team: Team, kind: str, spec: KindColumns, fields: dict[str, Any]) -> str:
    """A stable external_id for a row without one: a hash of the team, the kind and the
    row's identifying columns (timestamps as UTC instants, text case-folded)."""
    parts = [str(team.pk), kind]
    for name in spec.key:
        value = fields.get(name)
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat()
        parts.append(str(value or "").strip().casefold())
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"csv-{digest}"


STATUSES = list(Release.Status.values)
SEVERITIES = list(Incident.Severity.values)
TIMESTAMPS = {"deployed_at", "first_commit_at", "started_at", "detected_at", "resolved_at"}
Reader = Callable[[str], Any]


def cell_readers(kind: str, header: list[str], zone: ZoneInfo) -> list[tuple[str, Reader]]:
    """How to read each writable column the file has (decided once per file, not per cell)."""
    spec = COLUMNS[kind]
    readers: list[tuple[str, Reader]] = []
    for name in spec.writable:
        if name not in header or name == spec.reference_column:
            continue
        reader: Reader
        if name in TIMESTAMPS:
            reader = partial(timestamp, zone=zone)
        elif name == "change_count":
            reader = lambda cell: whole_number(cell) or 0  # noqa: E731
        elif name == "status":
            reader = lambda cell: choice(cell, STATUSES) or Release.Status.SUCCEEDED  # noqa: E731
        elif name == "severity":
            reader = lambda cell: choice(cell, SEVERITIES, upper=True) or "SEV3"  # noqa: E731
        elif name == "deploy_caused":
            reader = yes_no
        else:
            reader = partial(text, max_length=LENGTHS.get(name, 200))
        readers.append((name, reader))
    return readers


def _parse(row: Row, kind: str, readers: list[tuple[str, Reader]], team: Team) -> None:
    """Read the row's cells into model field values (only the columns the file has)."""
    spec = COLUMNS[kind]
    raw = row.raw
    out = row.fields
    team_cell = raw.get("team", "").strip()
    if team_cell and team_cell != team.slug:
        row.refuse("team", f"This file is imported into team “{team.slug}”, not “{team_cell}”.")
    for name, read in readers:
        try:
            out[name] = read(raw.get(name) or "")
        except CellError as exc:
            row.refuse(name, str(exc))
    row.reference = (raw.get(spec.reference_column) or "").strip()
    if (problem := bounds.text_problem(row.reference)) is not None:
        # Refused here: the lookup of the record it names would send the NUL to the database.
        row.refuse(spec.reference_column, problem)
        row.reference = ""
    for name in spec.required:
        if not out.get(name) and not any(column == name for column, _ in row.refusals):
            row.refuse(name, "Required.")


def _references(team: Team, kind: str, refs: set[str]) -> dict[str, Any]:
    """The records the rows name (incidents a release fixes, releases that caused an
    incident), by external_id or id, in one query."""
    if not refs:
        return {}
    model: type[Model] = Incident if kind == "releases" else Release
    ids = [number for ref in refs if (number := bounds.row_id(ref)) is not None]
    found: dict[str, Any] = {}
    qs = model._default_manager.filter(team=team)
    for record in qs.filter(pk__in=ids):
        found[str(record.pk)] = record
    # An external_id wins over an id of the same spelling, as in the API.
    for record in qs.filter(external_id__in=refs).order_by("id"):
        found[record.external_id] = record  # type: ignore[attr-defined]
    return found


def _existing(team: Team, kind: str, keys: set[str]) -> dict[str, Any]:
    model: type[Model] = Release if kind == "releases" else Incident
    related = "fixes_incident" if kind == "releases" else "caused_by"
    qs = model._default_manager.filter(team=team, source=Source.CSV, external_id__in=keys)
    return {row.external_id: row for row in qs.select_related(related)}  # type: ignore[attr-defined]


def _incident_cause(row: Row, header: set[str], target: Any) -> None:
    fields = row.fields
    deploy_caused = fields.pop("deploy_caused", None)
    if "caused_by_release" not in header and "deploy_caused" not in header:
        return
    if target is not None:
        if deploy_caused is False:
            row.refuse("deploy_caused", "An incident not caused by a deployment names no release.")
        fields["cause"], fields["caused_by"] = Incident.Cause.RELEASE, target
    elif deploy_caused is False:
        fields["cause"], fields["caused_by"] = Incident.Cause.NOT_DEPLOY, None
    else:
        fields["cause"], fields["caused_by"] = Incident.Cause.UNKNOWN, None


DEFAULTS: dict[str, dict[str, Any]] = {
    "releases": {
        "status": Release.Status.SUCCEEDED,
        "first_commit_at": None,
        "change_count": 0,
        "deployed_by": "",
        "fixes_incident": None,
    },
    "incidents": {
        "severity": Incident.Severity.SEV3,
        "service": "",
        "detected_at": None,
        "resolved_at": None,
        "cause": Incident.Cause.UNKNOWN,
        "caused_by": None,
        "summary": "",
        "resolved_by": "",
    },
}


def check_batch(
    *,
    team: Team,
    kind: str,
    header: list[str],
    zone: ZoneInfo,
    batch: list[tuple[int, dict[str, str], bool]],
    seen: set[str],
) -> list[Row]:
    """Every row of the batch, parsed and checked by the services' rules, with its key, the
    row it updates (if any) and whether it is new to the team. `seen` holds the keys of the
    file's earlier rows (a key seen before updates, it does not create)."""
    spec = COLUMNS[kind]
    columns = set(header)
    readers = cell_readers(kind, header, zone)
    rows: list[Row] = []
    for number, raw, too_wide in batch:
        row = Row(number, raw)
        if too_wide:
            row.refuse("", "The row has more cells than the first line has columns.")
        _parse(row, kind, readers, team)
        external_id = row.fields.pop("external_id", "") or ""
        row.key = external_id or derived_key(team, kind, spec, row.fields)
        rows.append(row)
    targets = _references(team, kind, {row.reference for row in rows if row.reference})
    existing = _existing(team, kind, {row.key for row in rows if not row.refused})
    validate = release_validate if kind == "releases" else incident_validate
    names = RELEASE_FIELDS if kind == "releases" else INCIDENT_FIELDS
    for row in rows:
        target = targets.get(row.reference) if row.reference else None
        if row.reference and target is None:
            noun = "incident" if kind == "releases" else "release"
            row.refuse(spec.reference_column, f"No {noun} “{row.reference}” in this team.")
        if kind == "releases":
            if spec.reference_column in columns:
                row.fields["fixes_incident"] = target
        else:
            _incident_cause(row, columns, target)
        if row.refused:
            continue
        row.existing = existing.get(row.key)
        base = (
            {name: getattr(row.existing, name) for name in names}
            if row.existing is not None
            else dict(DEFAULTS[kind])
        )
        base.update(row.fields)
        row.fields = base
        try:
            row.warnings = validate(team=team, data=base)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    row.refuse(FIELD_COLUMNS.get(name, name), message)
            continue
        row.created = row.existing is None and row.key not in seen
        seen.add(row.key)
    return rows


# --- writing a batch -------------------------------------------------------------------

UPDATE_FIELDS = {
    "releases": [*RELEASE_FIELDS, "updated_at"],
    "incidents": [*INCIDENT_FIELDS, "updated_at"],
}
UNIQUE = ["team", "source", "external_id"]


def _weeks(kind: str, values: dict[str, Any], caused_by: Any = None) -> set[Any]:
    """The weeks a record's values touch (see the services' `_affected`)."""
    if kind == "releases":
        return {week_start_of(values["deployed_at"])}
    weeks = set(weeks_spanning(values["started_at"], values["resolved_at"]))
    if caused_by is not None:
        weeks.add(week_start_of(caused_by.deployed_at))
    return weeks


def _old_values(kind: str, record: Any) -> dict[str, Any]:
    if kind == "releases":
        return {"deployed_at": record.deployed_at}
    return {"started_at": record.started_at, "resolved_at": record.resolved_at}


def write_batch(*, team: Team, kind: str, rows: list[Row], user: Any = None) -> int:
    """Upsert the acceptable rows of a checked batch and mark their weeks (before and after)
    dirty. Run it in a transaction. Returns the number of records written."""
    model: type[Model] = Release if kind == "releases" else Incident
    who = "recorded_by" if kind == "releases" else "reported_by"
    related = "fixes_incident" if kind == "releases" else "caused_by"
    now = timezone.now()
    by_key: dict[str, dict[str, Any]] = {}
    weeks: set[Any] = set()
    moved: list[int] = []
    for row in rows:
        if row.refused:
            continue
        values = dict(row.fields)
        target = values.pop(related, None)
        values.update(
            {
                "team_id": team.pk,
                "source": Source.CSV,
                "external_id": row.key,
                f"{related}_id": target.pk if target is not None else None,
                f"{who}_id": user.pk if user is not None else None,
                "created_at": now,
                "updated_at": now,
            }
        )
        by_key[row.key] = values  # a key twice in a batch: the later row wins
        weeks |= _weeks(kind, values, target if kind == "incidents" else None)
        if row.existing is not None:
            old = row.existing
            weeks |= _weeks(kind, _old_values(kind, old), getattr(old, related, None))
            if kind == "releases" and old.deployed_at != values["deployed_at"]:
                moved.append(old.pk)
    if moved:
        # Their incidents' recovery time runs from the deployment that moved.
        for started in Incident.objects.filter(caused_by_id__in=moved).values_list(
            "started_at", flat=True
        ):
            weeks.add(week_start_of(started))
    if not by_key:
        return 0
    update = UPDATE_FIELDS[kind]
    if connection.vendor == "postgresql":
        _upsert_copy(model, list(by_key.values()), update)
    else:
        model._default_manager.bulk_create(
            [model(**values) for values in by_key.values()],
            update_conflicts=True,
            unique_fields=UNIQUE,
            update_fields=update,
        )
    buckets_mark_dirty(team_id=team.id, weeks=weeks)
    return len(by_key)


def _upsert_copy(model: type[Model], rows: list[dict[str, Any]], update: list[str]) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT … ON CONFLICT DO
    UPDATE from it. About twice as fast as bulk_create, whose per-value preparation and
    array parameters cost more than the database's work."""
    q = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    column = {f.name: str(f.column) for f in fields}
    table = q(model._meta.db_table)
    stage = q(f"import_stage_{model._meta.db_table}")
    columns = ", ".join(q(column[f.name]) for f in fields)
    assignments = ", ".join(f"{q(column[name])} = EXCLUDED.{q(column[name])}" for name in update)
    unique = ", ".join(q(column[name]) for name in UNIQUE)
    # Every identifier below comes from the model's metadata, none from the file.
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {stage}")
        raw = cursor.cursor
        with raw.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
            # A column the file does not fill takes the field's default (a flag of the
            # model's own, such as an incident's start_unknown), as bulk_create would.
            defaults = {f.attname: f.get_default() for f in fields}
            for values in rows:
                copy.write_row([values.get(name, defaults[name]) for name in defaults])
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} "  # noqa: S608
            f"ON CONFLICT ({unique}) DO UPDATE SET {assignments}"
        )
