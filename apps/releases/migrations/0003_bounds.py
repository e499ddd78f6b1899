# The bounds of apps.core.bounds, on the model fields and as CHECK constraints.

import datetime

from django.db import migrations, models

import apps.core.bounds
from apps.core.data_check import refuse_out_of_bounds


class Migration(migrations.Migration):

    dependencies = [
        ('releases', '0002_record_source_csv'),
    ]

    operations = [
        # Stop with the list of rows outside the bounds, before any constraint is added.
        migrations.RunPython(refuse_out_of_bounds('releases.Release'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='release',
            name='deployed_at',
            field=models.DateTimeField(validators=[apps.core.bounds.validate_instant]),
        ),
        migrations.AlterField(
            model_name='release',
            name='first_commit_at',
            field=models.DateTimeField(blank=True, null=True, validators=[apps.core.bounds.validate_instant]),
        ),
        migrations.AddConstraint(
            model_name='release',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('deployed_at__gte', datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)), ('deployed_at__lt', datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC))), ('deployed_at__isnull', True), _connector='OR'), name='releases_release_deployed_at_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='release',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('first_commit_at__gte', datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)), ('first_commit_at__lt', datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC))), ('first_commit_at__isnull', True), _connector='OR'), name='releases_release_first_commit_at_in_bounds'),
        ),
    ]
