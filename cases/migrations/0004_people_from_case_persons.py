from django.db import migrations


def forwards(apps, schema_editor):
    """Every existing case person becomes a Person (issue #4); their age and sex move with them."""
    CasePerson = apps.get_model("cases", "CasePerson")
    Person = apps.get_model("cases", "Person")
    for link in CasePerson.objects.filter(person__isnull=True):
        person = Person.objects.create(
            estimated_age=link.age, age_estimated_on=link.created_at.date() if link.age is not None else None,
            sex=link.sex or "unknown",
        )
        link.person = person
        link.save(update_fields=["person"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_case_record")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
