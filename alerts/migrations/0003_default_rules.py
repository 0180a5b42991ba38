from django.db import migrations


def load(apps, schema_editor):
    from alerts.defaults import DEFAULT_RULES

    AlertRule = apps.get_model("alerts", "AlertRule")
    if AlertRule.objects.exists():
        return
    for rule in DEFAULT_RULES:
        AlertRule.objects.create(**rule)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0002_notification_emailed_at_notification_escalated_at_and_more")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
