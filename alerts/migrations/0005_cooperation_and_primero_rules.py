"""Default alert rules of issue #9's leftovers: a cooperation request from another country's unit alerts the
Director and the Head of Investigations; an answer (or a refusal) to one of ours alerts them and the officer
who asked; a referral that could not be sent to Primero, even after the automatic retries, alerts the officer
who sent it."""

from django.db import migrations

LEADERSHIP = ["director", "head_of_investigations"]
RULES = [
    {"event": "cooperation.request_received", "target_roles": LEADERSHIP},
    {"event": "cooperation.answer_received", "target_roles": LEADERSHIP, "target_assignee": True},
    {"event": "integrations.primero_failed", "target_assignee": True},
]


def load(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for rule in RULES:
        if not AlertRule.objects.filter(event=rule["event"]).exists():
            AlertRule.objects.create(**rule)


def unload(apps, schema_editor):
    apps.get_model("alerts", "AlertRule").objects.filter(event__in=[r["event"] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_case_record_rules")]
    operations = [migrations.RunPython(load, unload)]
