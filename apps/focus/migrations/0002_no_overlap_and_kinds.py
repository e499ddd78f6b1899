"""Focus periods of one team never overlap: an exclusion constraint on PostgreSQL.

SQLite has no exclusion constraints; apps.focus.services enforces the same rule there.
`ends_on` is inclusive and empty means open-ended, hence daterange(starts_on, ends_on, '[]').
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE focus_focusperiod ADD CONSTRAINT focus_no_overlap
    EXCLUDE USING gist (team_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&);
"""
DROP = "ALTER TABLE focus_focusperiod DROP CONSTRAINT IF EXISTS focus_no_overlap;"

BUILTIN = [
    ("stability", "Stability", "Recover fast and fail less: time to restore, change failure rate."),
    ("throughput", "Throughput", "Ship more often with shorter lead times."),
    ("knowledge_sharing", "Knowledge sharing", "Spread the work so no service depends on one person."),
]


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


def add_kinds(apps, schema_editor):
    FocusKind = apps.get_model("focus", "FocusKind")
    for slug, name, description in BUILTIN:
        FocusKind.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "builtin": True}
        )


class Migration(migrations.Migration):
    dependencies = [("focus", "0001_initial")]

    operations = [
        migrations.RunPython(add_constraint, drop_constraint),
        migrations.RunPython(add_kinds, migrations.RunPython.noop),
    ]
