"""Country reference data (utilities.countries): coverage of the ISO list, code conversions, and the names,
regions and nationalities reports show for the countries the CTU sees most."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError

from django.test import SimpleTestCase

from directory.isocodes import COUNTRIES as ISO_CODES
from utilities import countries

CARICOM_MEMBERS = ("AG", "BS", "BB", "BZ", "DM", "GD", "GY", "HT", "JM", "MS", "KN", "LC", "VC", "SR", "TT")
CARICOM_ASSOCIATES = ("AI", "BM", "VG", "KY", "TC")
REGIONS = {"Africa", "Americas", "Asia", "Europe", "Oceania"}


class CoverageTests(SimpleTestCase):
    def test_every_iso_code_has_an_entry_and_nothing_else(self):
        self.assertEqual(set(countries.COUNTRIES), set(ISO_CODES))
        self.assertEqual(len(countries.COUNTRIES), 249)

    def test_alpha3_codes_are_unique_three_uppercase_letters(self):
        codes = [c.alpha3 for c in countries.COUNTRIES.values()]
        self.assertEqual(len(codes), len(set(codes)))
        for code in codes:
            self.assertRegex(code, r"^[A-Z]{3}$")

    def test_every_entry_is_complete(self):
        for code, country in countries.COUNTRIES.items():
            with self.subTest(code=code):
                self.assertEqual(country.alpha2, code)
                self.assertTrue(country.name and country.name_es and country.nationality)
                if code == "AQ":  # Antarctica has no M49 region
                    self.assertEqual((country.region, country.subregion), ("", ""))
                else:
                    self.assertIn(country.region, REGIONS)
                    self.assertTrue(country.subregion)

    def test_nationalities_are_distinct_so_counts_do_not_merge(self):
        values = [c.nationality for c in countries.COUNTRIES.values()]
        self.assertEqual(len(values), len(set(values)))

    def test_round_trip_alpha2_alpha3_alpha2(self):
        for code in ISO_CODES:
            with self.subTest(code=code):
                self.assertEqual(countries.from_alpha3(countries.alpha3(code)), code)

    def test_entries_are_frozen(self):
        with self.assertRaises(FrozenInstanceError):
            countries.COUNTRIES["TT"].name = "Trinidad"


class LookupTests(SimpleTestCase):
    def test_normalise_accepts_either_code_in_any_case(self):
        for given in ("TT", "tt", " Tt ", "TTO", "tto", "tTo"):
            with self.subTest(given=given):
                self.assertEqual(countries.normalise(given), "TT")
        for given in ("", None, "XX", "XK", "ZZZ", "T", "TTOO"):
            with self.subTest(given=given):
                self.assertIsNone(countries.normalise(given))

    def test_get(self):
        self.assertEqual(countries.get("ve").alpha3, "VEN")
        self.assertEqual(countries.get("VEN").alpha2, "VE")
        self.assertIsNone(countries.get("XX"))
        self.assertIsNone(countries.get(""))

    def test_alpha3_and_from_alpha3(self):
        self.assertEqual(countries.alpha3("tt"), "TTO")
        self.assertEqual(countries.alpha3("XX"), "")
        self.assertEqual(countries.from_alpha3("guy"), "GY")
        self.assertIsNone(countries.from_alpha3("GY"))
        self.assertIsNone(countries.from_alpha3(None))

    def test_name_in_english_and_spanish(self):
        self.assertEqual(countries.name("TT"), "Trinidad and Tobago")
        self.assertEqual(countries.name("TT", lang="es"), "Trinidad y Tabago")
        self.assertEqual(countries.name("VE"), "Venezuela (Bolivarian Republic of)")
        self.assertEqual(countries.name("VE", lang="es-tt"), "Venezuela (República Bolivariana de)")
        self.assertEqual(countries.name("DO", lang="es"), "República Dominicana")
        self.assertEqual(countries.name("CO", lang="fr"), "Colombia")
        self.assertEqual(countries.name("XX"), "XX")
        self.assertEqual(countries.name(""), "")

    def test_nationality_fallbacks(self):
        self.assertEqual(countries.nationality(""), "Unknown")
        self.assertEqual(countries.nationality(None), "Unknown")
        self.assertEqual(countries.nationality("XX"), "Unknown")
        self.assertEqual(countries.nationality("BQ"), "Citizen of Bonaire, Sint Eustatius and Saba")
        self.assertEqual(countries.nationality("sxm"), "Citizen of Sint Maarten (Dutch part)")


class SpotCheckTests(SimpleTestCase):
    def test_trinidad_and_tobago(self):
        tt = countries.get("TT")
        self.assertEqual(
            (tt.alpha3, tt.name, tt.region, tt.subregion, tt.nationality),
            ("TTO", "Trinidad and Tobago", "Americas", "Caribbean", "Trinidadian"),
        )

    def test_nationalities_the_ctu_sees_most(self):
        expected = {
            "VE": "Venezuelan",
            "GY": "Guyanese",
            "CN": "Chinese",
            "NG": "Nigerian",
            "JM": "Jamaican",
            "CO": "Colombian",
            "DO": "Dominican",
            "DM": "Dominica citizen",
            "CU": "Cuban",
            "HT": "Haitian",
            "SR": "Surinamese",
            "BB": "Barbadian",
            "VC": "Vincentian",
            "LC": "Saint Lucian",
            "GD": "Grenadian",
        }
        for code, adjective in expected.items():
            with self.subTest(code=code):
                self.assertEqual(countries.nationality(code), adjective)

    def test_venezuela(self):
        ve = countries.get("VE")
        self.assertEqual((ve.alpha3, ve.region, ve.subregion), ("VEN", "Americas", "South America"))

    def test_caricom_and_caribbean_territories_sit_in_the_caribbean(self):
        for code in (*CARICOM_MEMBERS, *CARICOM_ASSOCIATES, "CU", "DO", "PR", "AW", "CW", "SX", "VI", "MQ", "GP"):
            country = countries.get(code)
            with self.subTest(code=code):
                self.assertEqual(country.region, "Americas")
                expected = {"BZ": "Central America", "GY": "South America", "SR": "South America"}.get(
                    code, "Northern America" if code == "BM" else "Caribbean"
                )
                self.assertEqual(country.subregion, expected)

    def test_latin_american_subregions(self):
        for code, subregion in {
            "CO": "South America", "BR": "South America", "GF": "South America", "FK": "South America",
            "MX": "Central America", "PA": "Central America", "GT": "Central America",
            "US": "Northern America", "CA": "Northern America",
        }.items():  # fmt: skip
            with self.subTest(code=code):
                self.assertEqual(countries.get(code).subregion, subregion)

    def test_other_regions(self):
        self.assertEqual((countries.get("NG").region, countries.get("NG").subregion), ("Africa", "Western Africa"))
        self.assertEqual((countries.get("CN").region, countries.get("CN").subregion), ("Asia", "Eastern Asia"))
        self.assertEqual(countries.get("GB").subregion, "Northern Europe")
        self.assertEqual(countries.get("FJ").region, "Oceania")

    def test_m49_names_not_iso_ones(self):
        for code, expected in {
            "BO": "Bolivia (Plurinational State of)",
            "VG": "British Virgin Islands",
            "VI": "United States Virgin Islands",
            "GB": "United Kingdom of Great Britain and Northern Ireland",
            "US": "United States of America",
            "KR": "Republic of Korea",
        }.items():
            with self.subTest(code=code):
                self.assertEqual(countries.name(code), expected)

    def test_codes_are_well_formed_keys(self):
        for code in countries.COUNTRIES:
            self.assertTrue(re.fullmatch(r"[A-Z]{2}", code))
