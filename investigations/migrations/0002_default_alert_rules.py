"""Default alert rules of issue #6: the Director and the Head of Investigations hear of arrests, charges,
hearings in 7 days, expiring orders, inactive cases and, urgently, of a broken evidence chain."""

from django.db import migrations

LEADERSHIP = ["director", "head_of_investigations"]
RULES = [
    {"event": "investigation.suspect_arrested"},
    {"event": "investigation.charge_laid"},
    {"event": "investigation.hearing_soon"},
    {"event": "investigation.order_expiring", "target_assignee": True},
    {"event": "investigation.evidence_broken", "urgent": True},
    {"event": "investigation.case_inactive", "target_assignee": True},
]


def load(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for rule in RULES:
        if not AlertRule.objects.filter(event=rule["event"]).exists():
            AlertRule.objects.create(target_roles=LEADERSHIP, **rule)


def unload(apps, schema_editor):
    apps.get_model("alerts", "AlertRule").objects.filter(event__in=[r["event"] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("investigations", "0001_initial"), ("alerts", "0004_case_record_rules")]
    operations = [migrations.RunPython(load, unload)]
