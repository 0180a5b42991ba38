from django.db import migrations


def publish_v1(apps, schema_editor):
    from screening.instruments import V1

    Instrument = apps.get_model("screening", "ScreeningInstrument")
    if not Instrument.objects.filter(version=1).exists():
        Instrument.objects.create(version=1, name="Palermo screening", definition=V1, is_current=True)


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]
    operations = [migrations.RunPython(publish_v1, migrations.RunPython.noop)]
