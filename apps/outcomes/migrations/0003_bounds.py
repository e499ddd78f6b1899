# The bounds of apps.core.bounds, on the model fields and as CHECK constraints.

import datetime

from django.db import migrations, models

import apps.core.bounds
from apps.core.data_check import refuse_out_of_bounds


class Migration(migrations.Migration):

    dependencies = [
        ('outcomes', '0002_targets_parents_and_stored_answers'),
    ]

    operations = [
        # Stop with the list of rows outside the bounds, before any constraint is added.
        migrations.RunPython(refuse_out_of_bounds('outcomes.Outcome', 'outcomes.OutcomeMeasurement'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='outcome',
            name='baseline',
            field=models.FloatField(validators=[apps.core.bounds.validate_number]),
        ),
        migrations.AlterField(
            model_name='outcome',
            name='target',
            field=models.FloatField(validators=[apps.core.bounds.validate_number]),
        ),
        migrations.AlterField(
            model_name='outcome',
            name='target_date',
            field=models.DateField(blank=True, help_text='When the target should be reached (optional).', null=True, validators=[apps.core.bounds.validate_day]),
        ),
        migrations.AlterField(
            model_name='outcomemeasurement',
            name='measured_on',
            field=models.DateField(validators=[apps.core.bounds.validate_day]),
        ),
        migrations.AlterField(
            model_name='outcomemeasurement',
            name='value',
            field=models.FloatField(validators=[apps.core.bounds.validate_number]),
        ),
        migrations.AddConstraint(
            model_name='outcome',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('baseline__gte', -1000000000000.0), ('baseline__lte', 1000000000000.0)), ('baseline__isnull', True), _connector='OR'), name='outcomes_outcome_baseline_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='outcome',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('target__gte', -1000000000000.0), ('target__lte', 1000000000000.0)), ('target__isnull', True), _connector='OR'), name='outcomes_outcome_target_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='outcome',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('target_date__gte', datetime.date(1970, 1, 1)), ('target_date__lte', datetime.date(2099, 12, 31))), ('target_date__isnull', True), _connector='OR'), name='outcomes_outcome_target_date_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='outcomemeasurement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('measured_on__gte', datetime.date(1970, 1, 1)), ('measured_on__lte', datetime.date(2099, 12, 31))), ('measured_on__isnull', True), _connector='OR'), name='outcomes_outcomemeasurement_measured_on_in_bounds'),
        ),
        migrations.AddConstraint(
            model_name='outcomemeasurement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('value__gte', -1000000000000.0), ('value__lte', 1000000000000.0)), ('value__isnull', True), _connector='OR'), name='outcomes_outcomemeasurement_value_in_bounds'),
        ),
    ]
