"""Indexes on incidents.resolved_at for the open-incidents count.

"Open at the end of a week" reads only the incidents resolved after that moment (or not at
all), so recomputing a recent week costs the same whatever the length of the history. The
indexes live on the incidents table but serve only the metric queries, so they are created
here, as plain SQL that PostgreSQL and SQLite both accept.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_versions_and_snapshots"),
        ("incidents", "0002_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                "CREATE INDEX IF NOT EXISTS incident_team_resolved_idx "
                "ON incidents_incident (team_id, resolved_at)",
                "CREATE INDEX IF NOT EXISTS incident_resolved_idx "
                "ON incidents_incident (resolved_at)",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS incident_team_resolved_idx",
                "DROP INDEX IF EXISTS incident_resolved_idx",
            ],
        ),
    ]
