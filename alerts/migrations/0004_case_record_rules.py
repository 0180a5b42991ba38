from django.db import migrations

NEW_RULES = [
    {"event": "case.break_glass", "target_roles": ["director"], "urgent": True},
    {"event": "care.permit_expiring", "target_assignee": True, "target_roles": ["head_of_investigations"]},
]


def load(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for rule in NEW_RULES:
        if not AlertRule.objects.filter(event=rule["event"]).exists():
            AlertRule.objects.create(**rule)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0003_default_rules")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
