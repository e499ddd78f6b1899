# The bounds of apps.core.bounds, on the model fields and as CHECK constraints.

import datetime

from django.db import migrations, models

import apps.core.bounds
from apps.core.data_check import refuse_out_of_bounds


class Migration(migrations.Migration):

    dependencies = [
        ('focus', '0005_evaluations'),
    ]

    operations = [
        # Stop with the list of rows outside the bounds, before any constraint is added.
        migrations.RunPython(refuse_out_of_bounds('focus.FocusPeriod'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='focusperiod',
            name='ends_on',
            field=models.DateField(blank=True, null=True, validators=[apps.core.bounds.validate_day]),
        ),
        migrations.AlterField(
            model_name='focusperiod',
            name='revisit_on',
            field=models.DateField(blank=True, null=True, validators=[apps.core.bounds.validate_day]),
        ),
        migrations.AlterField(
            model_name='focusperiod',
            name='starts_on',
            field=models.DateField(validators=[apps.core.bounds.validate_day]),
        ),
        migrations.AddConstraint(
            model_name='focusperiod',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('starts_on__gte', datetime.date(1970, 1, 1)), ('starts_on__lte', datetime.date(2099, 12, 31))), ('starts_on__isnull', True), _connector='OR'), name='focus_focusperiod_starts_on_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='focusperiod',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('ends_on__gte', datetime.date(1970, 1, 1)), ('ends_on__lte', datetime.date(2099, 12, 31))), ('ends_on__isnull', True), _connector='OR'), name='focus_focusperiod_ends_on_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='focusperiod',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('revisit_on__gte', datetime.date(1970, 1, 1)), ('revisit_on__lte', datetime.date(2099, 12, 31))), ('revisit_on__isnull', True), _connector='OR'), name='focus_focusperiod_revisit_on_in_bounds'),
        ),
    ]
