"""Samples of each team week in its rollup; the index that reads one week of every team.

Rows written before this migration have no samples (NULL): the organization's weeks that
still hold such a row are computed from the raw rows, as before, until the nightly recheck
(the last 8 weeks) or `manage.py recompute_metrics` (every week) has rewritten them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0003_incident_resolved_indexes'),
        ('teams', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='weeklyrollup',
            name='fdrt_samples',
            field=models.JSONField(blank=True, help_text='Failed deployment recovery times (µs).', null=True),
        ),
        migrations.AddField(
            model_name='weeklyrollup',
            name='lead_samples',
            field=models.JSONField(blank=True, help_text='Lead time of each release with a first commit (µs).', null=True),
        ),
        migrations.AddField(
            model_name='weeklyrollup',
            name='ttr_samples',
            field=models.JSONField(blank=True, help_text='Time to restore of each resolved incident (µs).', null=True),
        ),
        migrations.AddIndex(
            model_name='weeklyrollup',
            index=models.Index(fields=['week_start', 'scope'], name='rollup_week_scope_idx'),
        ),
    ]
