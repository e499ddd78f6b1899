"""Rollup samples as compact JSON text instead of jsonb.

The rollups write the samples as text and read them back as text (the organization's week
joins its teams' lists): jsonb made PostgreSQL parse every number on the way in and print it
on the way out, and took a fifth more space.
"""

from django.db import migrations

import apps.metrics.models


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0004_rollup_samples'),
    ]

    operations = [
        migrations.AlterField(
            model_name='weeklyrollup',
            name='fdrt_samples',
            field=apps.metrics.models.SamplesField(blank=True, help_text='Failed deployment recovery times (µs).', null=True),
        ),
        migrations.AlterField(
            model_name='weeklyrollup',
            name='lead_samples',
            field=apps.metrics.models.SamplesField(blank=True, help_text='Lead time of each release with a first commit (µs).', null=True),
        ),
        migrations.AlterField(
            model_name='weeklyrollup',
            name='ttr_samples',
            field=apps.metrics.models.SamplesField(blank=True, help_text='Time to restore of each resolved incident (µs).', null=True),
        ),
    ]
