"""The search-token table's format (issue #11): 64-bit keyed integer tokens, (token, person) as the primary key,
rebuilt by the migration that introduced it, written alike by the import and by cases.search."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from unittest import mock

from django.apps import apps
from django.db import connection

from cases import actions, search
from cases.models import Person, SearchToken
from tests.test_people_search import PeopleTestCase

migration = importlib.import_module("cases.migrations.0009_searchtoken_integer_composite_key")


def stored(person) -> set[tuple[str, int]]:
    return set(SearchToken.objects.filter(person=person).values_list("kind", "token"))


class TokenFormatTests(PeopleTestCase):
    def test_tokens_are_keyed_signed_64_bit_integers(self):
        value = search.token("w", "perez")
        self.assertIsInstance(value, int)
        self.assertTrue(-(2**63) <= value < 2**63)
        self.assertEqual(value, search.token("w", "perez"))
        self.assertNotEqual(value, search.token("p", "perez"))  # one key per kind
        with self.settings(BLIND_INDEX_KEY="another key"):
            self.assertNotEqual(search.token("w", "perez"), value)

    def test_memoised_tokens_are_the_same_tokens(self):
        names = ["María José Pérez", "José Pérez", "Ana María González de la Cruz"]
        memo: dict = {}
        for name in names:
            self.assertEqual(search.tokens_for_names([name], memo=memo), search.tokens_for_names([name]))
        self.assertTrue(memo)

    def test_colliding_tokens_of_two_kinds_keep_one_row(self):
        # (token, person) is the primary key: two kinds whose 64-bit tokens collide must not refuse the write.
        with mock.patch.object(
            search, "token", side_effect=lambda kind, value: 7 if kind in ("w", "a") else hash((kind, value))
        ):
            rows = search.token_rows(1, search.tokens_for_names(["Ana Perez"]))
            self.assertEqual([r for r in rows if r[0] == 7], [(7, "a", 1)])
            self.assertEqual(len(rows), len({r[0] for r in rows}))
            search.index_person(self.maria)
        self.assertEqual(SearchToken.objects.filter(person=self.maria, token=7).count(), 1)

    def test_deleting_a_person_deletes_their_tokens(self):
        # The table has no database foreign key (issue #11): the ORM's cascade removes them.
        person = Person.objects.create(given_names="Ximena", family_names="Rojas")
        search.index_person(person)
        self.assertTrue(stored(person))
        person.delete()
        self.assertFalse(SearchToken.objects.filter(person_id=person.pk).exists())


class MigrationTests(PeopleTestCase):
    def test_the_migration_rebuilds_every_persons_tokens(self):
        link = self.maria.case_links.first()
        actions.add_alias(link, actor=self.investigator, name="Mariela Rojas")
        Person.objects.create(given_names="Rosa", family_names="Linares", merged_into=self.maria)
        expected = {p.pk: search.tokens_for_names(search.person_names(p)) for p in Person.objects.all()}
        SearchToken.objects.all().delete()
        # rebuild_tokens uses only the schema editor's connection (SQLite cannot open an editor inside a test's
        # transaction).
        migration.rebuild_tokens(apps, SimpleNamespace(connection=connection))
        for person in Person.objects.all():
            self.assertEqual(stored(person), expected[person.pk])
        self.assertIn(("w", search.token("w", "mariela")), stored(self.maria))  # an alias
        self.assertIn(("w", search.token("w", "linares")), stored(self.maria))  # a record merged into hers
        # The keys and indexes a bulk load drops are back.
        constraints = connection.introspection.get_constraints(connection.cursor(), SearchToken._meta.db_table)
        keys = [c["columns"] for c in constraints.values() if c["primary_key"]]
        self.assertEqual(keys, [["token", "person_id"]])
        self.assertTrue(any(c["columns"] == ["person_id"] and c["index"] for c in constraints.values()))
        self.assertEqual(search.search("Maria Perez", Person.objects.all())[0].person, self.maria)
