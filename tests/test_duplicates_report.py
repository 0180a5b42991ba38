"""The whole-database duplicate report kept fast (issue #11): its shortcuts must not change what it finds.
Cheap bounds rule word pairs out before they are compared letter by letter, and only the sound tokens of the
names decrypted are counted; the report must give the same answers as the slow way."""

from __future__ import annotations

from difflib import SequenceMatcher

from django.db.models import Count

from cases import actions, duplicates, search
from cases.models import SearchToken
from tests.test_duplicates import DuplicateTestCase

# Words of names and their slips: spelling variants, a letter doubled or dropped, repeated letters, swaps.
WORDS = """maria mario marta marina mariana jose josue hose pérez peres perez pereira gonzalez gonsalez gonzales
gonzalo ana anna annia hanna mohammed mohamed muhammad mahmoud ahmed ahmad rashid rachid ibrahim ebrahim
hernandez ernandez fernandez guillermo gillermo ximena jimena xavier javier carlos carla karla lucia lucio
luciana rosa rossa roza sofia sophia esteban estevan stephen steven isabel ysabel isabella""".split()

NAMESAKES = """Pedro Juan Luis Jorge Pablo Diego Andres Felipe Tomas Ramon Ignacio Emilio Hugo Raul Oscar Victor
Adrian Alberto Mateo Nicolas Rodrigo Sergio Julio Marcos Bruno Simon Gabriel Martin Elias Teodoro""".split()


def _slips(word: str) -> list[str]:
    swapped = [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]
    dropped = [word[:i] + word[i + 1 :] for i in range(len(word))]
    doubled = [word[:i] + word[i] + word[i:] for i in range(len(word))]
    return swapped + dropped + doubled


class SimilarityBoundTests(DuplicateTestCase):
    def test_the_letter_bound_is_never_below_the_ratio(self):
        for a in WORDS:
            for b in [*WORDS, *_slips(a)]:
                with self.subTest(a=a, b=b):
                    self.assertGreaterEqual(duplicates._ratio_bound(a, b) + 1e-9, SequenceMatcher(None, a, b).ratio())

    def test_words_alike_are_found_as_word_similarity_finds_them(self):
        alike = 0
        for a in WORDS:
            for b in [*WORDS, *_slips(a)]:
                expected = search.word_similarity(a, b)
                with self.subTest(a=a, b=b):
                    found = duplicates._similarity_if_alike(a, b)
                    self.assertEqual(found >= duplicates.SIMILAR_WORD, expected >= duplicates.SIMILAR_WORD)
                    if expected >= duplicates.SIMILAR_WORD:
                        self.assertEqual(found, expected)
                        alike += 1
        self.assertGreater(alike, 100)  # the words above are alike often enough for this to mean something


class SoundCountTests(DuplicateTestCase):
    def _add(self, given: str, family: str, **more):
        return actions.add_person(
            self.case1, actor=self.investigator, role="witness", pseudonym=given[:3], given_names=given,
            family_names=family, **more,
        ).person  # fmt: skip

    def test_token_counts_count_the_people_carrying_each_token_asked_for(self):
        self._add("Carla", "Gonsales")
        wanted = [search.token("p", search.sound_key(w)) for w in ("gonzalez", "maria", "zzyzx")]
        expected = dict(
            SearchToken.objects.filter(kind="p", token__in=wanted).values("token").annotate(n=Count("person"))
            .values_list("token", "n")
        )  # fmt: skip
        self.assertEqual(duplicates._token_counts("p", wanted), expected)
        self.assertGreaterEqual(expected[wanted[0]], 3)  # Ana González, Carlos Gonzalez, Carla Gonsales
        self.assertNotIn(wanted[2], expected)

    def test_a_name_alike_weighs_less_when_its_sound_is_common(self):
        one = self._add("Rosaura", "Gonsalez", sex="female")
        other = self._add("Rosaura", "Gonzalez", sex="female")

        def probability() -> float:
            pairs = {(a, b): p for a, b, p, _codes in duplicates.find_all(threshold=0.0001)["pairs"]}
            return pairs[(one.pk, other.pk)]

        rare = probability()
        # Thirty people sharing the surname's sound (nothing else known of them: the rest of the model stays)
        for given in NAMESAKES:
            self._add(given, "Gonzales")
        self.assertLess(probability(), rare)
