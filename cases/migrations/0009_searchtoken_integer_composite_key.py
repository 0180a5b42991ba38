# Hand-written (issue #11): Django cannot migrate an existing table to a composite primary key, so the token
# table is dropped and created again with 64-bit integer tokens and (token, person) as its primary key, then
# every person's tokens are computed again (the same work as ``manage.py reindex_people``: about 17 rows per
# person; a few minutes at a million people). Search finds nobody until this migration has finished.
# Migrating back leaves the old table empty: run ``manage.py reindex_people`` with the old code then.

import django.db.models.deletion
from django.db import migrations, models

BATCH = 2000


def rebuild_tokens(apps, schema_editor):
    from cases import search

    Person = apps.get_model("cases", "Person")
    PersonAlias = apps.get_model("cases", "PersonAlias")
    SearchToken = apps.get_model("cases", "SearchToken")
    table = SearchToken._meta.db_table
    postgres = schema_editor.connection.vendor == "postgresql"
    cursor = schema_editor.connection.cursor()
    restore = []
    if postgres:
        # A bulk load: the table's keys and indexes are built once at the end (sorting 17 rows per person once
        # is much cheaper than inserting them one by one into the (token, person) key, and the foreign key is
        # checked in one pass instead of once per row).
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "ORDER BY contype = 'f'",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        indexes = [(n, d) for n, d in cursor.fetchall() if n not in {c for c, _d in constraints}]
        for name, _definition in reversed(constraints):
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        restore = [d for _n, d in indexes] + [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in constraints]

    def full_name(p) -> str:
        return " ".join(part for part in (p.given_names, p.family_names) if part)

    last = 0
    while True:
        batch = list(
            Person.objects.filter(pk__gt=last).order_by("pk").only("id", "given_names", "family_names")[:BATCH]
        )
        if not batch:
            break
        ids = [p.pk for p in batch]
        names = {p.pk: [full_name(p)] for p in batch}
        for pid, name in PersonAlias.objects.filter(person_id__in=ids).values_list("person_id", "name"):
            names[pid].append(name)
        # The names of records merged into these (directly or through another merge), as search.person_names.
        frontier = {pk: pk for pk in ids}
        for _depth in range(5):
            if not frontier:
                break
            nxt = {}
            merged = Person.objects.filter(merged_into_id__in=list(frontier)).only(
                "id", "merged_into_id", "given_names", "family_names"
            )
            for p in merged:
                root = frontier[p.merged_into_id]
                names[root].append(full_name(p))
                nxt[p.pk] = root
            frontier = nxt
        memo: dict = {}
        rows = [
            row
            for pid in ids
            for row in search.token_rows(pid, search.tokens_for_names((n for n in names[pid] if n), memo=memo))
        ]
        if postgres:
            with cursor.cursor.copy(f"COPY {table} (token, kind, person_id) FROM STDIN") as copy:
                copy.write("".join([f"{t}\t{k}\t{p}\n" for t, k, p in rows]))
        else:
            SearchToken.objects.bulk_create(
                [SearchToken(token=t, kind=k, person_id=p) for t, k, p in rows], batch_size=5000
            )
        last = ids[-1]
    if restore:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for statement in restore:
            cursor.execute(statement)
        cursor.execute(f"ANALYZE {table}")
    cursor.close()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_case_list_order_index"),
    ]

    operations = [
        migrations.DeleteModel(name="SearchToken"),
        migrations.CreateModel(
            name="SearchToken",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "token", "person_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("token", models.BigIntegerField()),
                (
                    "person",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="search_tokens",
                        to="cases.person",
                    ),
                ),
                ("kind", models.CharField(max_length=1)),
            ],
        ),
        migrations.RunPython(rebuild_tokens, migrations.RunPython.noop, elidable=True),
    ]
