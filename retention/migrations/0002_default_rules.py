"""Default retention rules (issue #10), all inactive: nothing is anonymised until the Director or the system
administrator reviews the periods and switches a rule on."""

from django.db import migrations

DEFAULTS = [
    ("case_victims", 120, "anonymise"),
    ("case_suspects", 120, "anonymise"),
    ("reports_no_case", 24, "anonymise"),
    ("referral_threads", 36, "delete"),
]


def add_rules(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    for record_type, months, action in DEFAULTS:
        RetentionRule.objects.get_or_create(
            record_type=record_type, defaults={"period_months": months, "action": action, "is_active": False}
        )


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
