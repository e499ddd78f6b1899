# The bounds of apps.core.bounds, on the model fields and as CHECK constraints.

import datetime

from django.db import migrations, models

import apps.core.bounds
from apps.core.data_check import refuse_out_of_bounds


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0003_record_source_csv'),
    ]

    operations = [
        # Stop with the list of rows outside the bounds, before any constraint is added.
        migrations.RunPython(refuse_out_of_bounds('incidents.Incident'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='incident',
            name='detected_at',
            field=models.DateTimeField(blank=True, null=True, validators=[apps.core.bounds.validate_instant]),
        ),
        migrations.AlterField(
            model_name='incident',
            name='resolved_at',
            field=models.DateTimeField(blank=True, help_text='Empty while open.', null=True, validators=[apps.core.bounds.validate_instant]),
        ),
        migrations.AlterField(
            model_name='incident',
            name='started_at',
            field=models.DateTimeField(help_text='When the impact began.', validators=[apps.core.bounds.validate_instant]),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('started_at__gte', datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)), ('started_at__lt', datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC))), ('started_at__isnull', True), _connector='OR'), name='incidents_incident_started_at_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('detected_at__gte', datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)), ('detected_at__lt', datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC))), ('detected_at__isnull', True), _connector='OR'), name='incidents_incident_detected_at_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('resolved_at__gte', datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)), ('resolved_at__lt', datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC))), ('resolved_at__isnull', True), _connector='OR'), name='incidents_incident_resolved_at_in_bounds'),
        ),
    ]
