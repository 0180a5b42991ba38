"""Country reference data for reports and exchange formats (UNODC GLOTIP, CTDC, HTCDS): one entry for every
ISO 3166-1 alpha-2 code in ``directory.isocodes.COUNTRIES``.

- ``name`` is the UN M49 English short name (what UNODC publishes, e.g. "Venezuela (Bolivarian Republic of)");
  ``name_es`` is the UN M49 Spanish name (so "Trinidad y Tabago", as the UN spells it).
- ``region`` is the M49 region; ``subregion`` is the M49 intermediate region where one exists (Caribbean,
  Central America, South America, Eastern/Middle/Southern/Western Africa), else the M49 sub-region. The
  Channel Islands (Guernsey, Jersey) are counted in Northern Europe rather than their own intermediate region,
  and Taiwan (absent from M49) in Eastern Asia. Antarctica has no M49 region: both are empty.
- ``nationality`` is the English adjective used for citizenship counts. Where two countries share an
  adjective it is qualified so the counts stay apart ("Dominican" is the Dominican Republic, Dominica is
  "Dominica citizen"); places without a common adjective read "Citizen of <name>".

Data only, no models: safe to import anywhere (settings, migrations, exporters).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Country:
    alpha2: str
    alpha3: str
    name: str
    name_es: str
    region: str
    subregion: str
    nationality: str


# (region, subregion): rows of (alpha-2, alpha-3, English name, Spanish name, nationality or "" for
# "Citizen of <name>"). Kept one row per line for review, hence fmt: off.
# fmt: off
_TABLE: dict[tuple[str, str], tuple[tuple[str, str, str, str, str], ...]] = {
    # --- Americas -----------------------------------------------------------------------------------------
    ("Americas", "Caribbean"): (
        ("AG", "ATG", "Antigua and Barbuda", "Antigua y Barbuda", "Antiguan and Barbudan"),
        ("AI", "AIA", "Anguilla", "Anguila", "Anguillian"),
        ("AW", "ABW", "Aruba", "Aruba", "Aruban"),
        ("BB", "BRB", "Barbados", "Barbados", "Barbadian"),
        ("BL", "BLM", "Saint Barthélemy", "San Bartolomé", ""),
        ("BQ", "BES", "Bonaire, Sint Eustatius and Saba", "Bonaire, San Eustaquio y Saba", ""),
        ("BS", "BHS", "Bahamas", "Bahamas", "Bahamian"),
        ("CU", "CUB", "Cuba", "Cuba", "Cuban"),
        ("CW", "CUW", "Curaçao", "Curazao", "Curaçaoan"),
        ("DM", "DMA", "Dominica", "Dominica", "Dominica citizen"),
        ("DO", "DOM", "Dominican Republic", "República Dominicana", "Dominican"),
        ("GD", "GRD", "Grenada", "Granada", "Grenadian"),
        ("GP", "GLP", "Guadeloupe", "Guadalupe", "Guadeloupean"),
        ("HT", "HTI", "Haiti", "Haití", "Haitian"),
        ("JM", "JAM", "Jamaica", "Jamaica", "Jamaican"),
        ("KN", "KNA", "Saint Kitts and Nevis", "Saint Kitts y Nevis", "Kittitian and Nevisian"),
        ("KY", "CYM", "Cayman Islands", "Islas Caimán", "Caymanian"),
        ("LC", "LCA", "Saint Lucia", "Santa Lucía", "Saint Lucian"),
        ("MF", "MAF", "Saint Martin (French Part)", "San Martín (parte francesa)", ""),
        ("MQ", "MTQ", "Martinique", "Martinica", "Martinican"),
        ("MS", "MSR", "Montserrat", "Montserrat", "Montserratian"),
        ("PR", "PRI", "Puerto Rico", "Puerto Rico", "Puerto Rican"),
        ("SX", "SXM", "Sint Maarten (Dutch part)", "San Martín (parte neerlandesa)", ""),
        ("TC", "TCA", "Turks and Caicos Islands", "Islas Turcas y Caicos", "Turks and Caicos Islander"),
        ("TT", "TTO", "Trinidad and Tobago", "Trinidad y Tabago", "Trinidadian"),
        ("VC", "VCT", "Saint Vincent and the Grenadines", "San Vicente y las Granadinas", "Vincentian"),
        ("VG", "VGB", "British Virgin Islands", "Islas Vírgenes Británicas", "British Virgin Islander"),
        ("VI", "VIR", "United States Virgin Islands", "Islas Vírgenes de los Estados Unidos",
         "United States Virgin Islander"),
    ),
    ("Americas", "Central America"): (
        ("BZ", "BLZ", "Belize", "Belice", "Belizean"),
        ("CR", "CRI", "Costa Rica", "Costa Rica", "Costa Rican"),
        ("GT", "GTM", "Guatemala", "Guatemala", "Guatemalan"),
        ("HN", "HND", "Honduras", "Honduras", "Honduran"),
        ("MX", "MEX", "Mexico", "México", "Mexican"),
        ("NI", "NIC", "Nicaragua", "Nicaragua", "Nicaraguan"),
        ("PA", "PAN", "Panama", "Panamá", "Panamanian"),
        ("SV", "SLV", "El Salvador", "El Salvador", "Salvadoran"),
    ),
    ("Americas", "South America"): (
        ("AR", "ARG", "Argentina", "Argentina", "Argentine"),
        ("BO", "BOL", "Bolivia (Plurinational State of)", "Bolivia (Estado Plurinacional de)", "Bolivian"),
        ("BR", "BRA", "Brazil", "Brasil", "Brazilian"),
        ("BV", "BVT", "Bouvet Island", "Isla Bouvet", ""),
        ("CL", "CHL", "Chile", "Chile", "Chilean"),
        ("CO", "COL", "Colombia", "Colombia", "Colombian"),
        ("EC", "ECU", "Ecuador", "Ecuador", "Ecuadorian"),
        ("FK", "FLK", "Falkland Islands (Malvinas)", "Islas Malvinas (Falkland)", "Falkland Islander"),
        ("GF", "GUF", "French Guiana", "Guayana Francesa", "French Guianese"),
        ("GS", "SGS", "South Georgia and the South Sandwich Islands",
         "Georgia del Sur y las Islas Sandwich del Sur", ""),
        ("GY", "GUY", "Guyana", "Guyana", "Guyanese"),
        ("PE", "PER", "Peru", "Perú", "Peruvian"),
        ("PY", "PRY", "Paraguay", "Paraguay", "Paraguayan"),
        ("SR", "SUR", "Suriname", "Suriname", "Surinamese"),
        ("UY", "URY", "Uruguay", "Uruguay", "Uruguayan"),
        ("VE", "VEN", "Venezuela (Bolivarian Republic of)", "Venezuela (República Bolivariana de)", "Venezuelan"),
    ),
    ("Americas", "Northern America"): (
        ("BM", "BMU", "Bermuda", "Bermudas", "Bermudian"),
        ("CA", "CAN", "Canada", "Canadá", "Canadian"),
        ("GL", "GRL", "Greenland", "Groenlandia", "Greenlandic"),
        ("PM", "SPM", "Saint Pierre and Miquelon", "San Pedro y Miquelón", ""),
        ("US", "USA", "United States of America", "Estados Unidos de América", "American"),
    ),
    # --- Africa -------------------------------------------------------------------------------------------
    ("Africa", "Northern Africa"): (
        ("DZ", "DZA", "Algeria", "Argelia", "Algerian"),
        ("EG", "EGY", "Egypt", "Egipto", "Egyptian"),
        ("EH", "ESH", "Western Sahara", "Sáhara Occidental", "Sahrawi"),
        ("LY", "LBY", "Libya", "Libia", "Libyan"),
        ("MA", "MAR", "Morocco", "Marruecos", "Moroccan"),
        ("SD", "SDN", "Sudan", "Sudán", "Sudanese"),
        ("TN", "TUN", "Tunisia", "Túnez", "Tunisian"),
    ),
    ("Africa", "Eastern Africa"): (
        ("BI", "BDI", "Burundi", "Burundi", "Burundian"),
        ("DJ", "DJI", "Djibouti", "Djibouti", "Djiboutian"),
        ("ER", "ERI", "Eritrea", "Eritrea", "Eritrean"),
        ("ET", "ETH", "Ethiopia", "Etiopía", "Ethiopian"),
        ("IO", "IOT", "British Indian Ocean Territory", "Territorio Británico del Océano Índico", ""),
        ("KE", "KEN", "Kenya", "Kenya", "Kenyan"),
        ("KM", "COM", "Comoros", "Comoras", "Comorian"),
        ("MG", "MDG", "Madagascar", "Madagascar", "Malagasy"),
        ("MU", "MUS", "Mauritius", "Mauricio", "Mauritian"),
        ("MW", "MWI", "Malawi", "Malawi", "Malawian"),
        ("MZ", "MOZ", "Mozambique", "Mozambique", "Mozambican"),
        ("RE", "REU", "Réunion", "Reunión", "Réunionese"),
        ("RW", "RWA", "Rwanda", "Rwanda", "Rwandan"),
        ("SC", "SYC", "Seychelles", "Seychelles", "Seychellois"),
        ("SO", "SOM", "Somalia", "Somalia", "Somali"),
        ("SS", "SSD", "South Sudan", "Sudán del Sur", "South Sudanese"),
        ("TF", "ATF", "French Southern Territories", "Territorios Australes Franceses", ""),
        ("TZ", "TZA", "United Republic of Tanzania", "República Unida de Tanzanía", "Tanzanian"),
        ("UG", "UGA", "Uganda", "Uganda", "Ugandan"),
        ("YT", "MYT", "Mayotte", "Mayotte", "Mahoran"),
        ("ZM", "ZMB", "Zambia", "Zambia", "Zambian"),
        ("ZW", "ZWE", "Zimbabwe", "Zimbabwe", "Zimbabwean"),
    ),
    ("Africa", "Middle Africa"): (
        ("AO", "AGO", "Angola", "Angola", "Angolan"),
        ("CD", "COD", "Democratic Republic of the Congo", "República Democrática del Congo",
         "Congolese (Democratic Republic of the Congo)"),
        ("CF", "CAF", "Central African Republic", "República Centroafricana", "Central African"),
        ("CG", "COG", "Congo", "Congo", "Congolese (Congo)"),
        ("CM", "CMR", "Cameroon", "Camerún", "Cameroonian"),
        ("GA", "GAB", "Gabon", "Gabón", "Gabonese"),
        ("GQ", "GNQ", "Equatorial Guinea", "Guinea Ecuatorial", "Equatorial Guinean"),
        ("ST", "STP", "Sao Tome and Principe", "Santo Tomé y Príncipe", "Sao Tomean"),
        ("TD", "TCD", "Chad", "Chad", "Chadian"),
    ),
    ("Africa", "Southern Africa"): (
        ("BW", "BWA", "Botswana", "Botswana", "Botswanan"),
        ("LS", "LSO", "Lesotho", "Lesotho", "Mosotho"),
        ("NA", "NAM", "Namibia", "Namibia", "Namibian"),
        ("SZ", "SWZ", "Eswatini", "Eswatini", "Swazi"),
        ("ZA", "ZAF", "South Africa", "Sudáfrica", "South African"),
    ),
    ("Africa", "Western Africa"): (
        ("BF", "BFA", "Burkina Faso", "Burkina Faso", "Burkinabe"),
        ("BJ", "BEN", "Benin", "Benin", "Beninese"),
        ("CI", "CIV", "Côte d'Ivoire", "Côte d'Ivoire", "Ivorian"),
        ("CV", "CPV", "Cabo Verde", "Cabo Verde", "Cabo Verdean"),
        ("GH", "GHA", "Ghana", "Ghana", "Ghanaian"),
        ("GM", "GMB", "Gambia", "Gambia", "Gambian"),
        ("GN", "GIN", "Guinea", "Guinea", "Guinean"),
        ("GW", "GNB", "Guinea-Bissau", "Guinea-Bissau", "Bissau-Guinean"),
        ("LR", "LBR", "Liberia", "Liberia", "Liberian"),
        ("ML", "MLI", "Mali", "Malí", "Malian"),
        ("MR", "MRT", "Mauritania", "Mauritania", "Mauritanian"),
        ("NE", "NER", "Niger", "Níger", "Nigerien"),
        ("NG", "NGA", "Nigeria", "Nigeria", "Nigerian"),
        ("SH", "SHN", "Saint Helena", "Santa Elena", "Saint Helenian"),
        ("SL", "SLE", "Sierra Leone", "Sierra Leona", "Sierra Leonean"),
        ("SN", "SEN", "Senegal", "Senegal", "Senegalese"),
        ("TG", "TGO", "Togo", "Togo", "Togolese"),
    ),
    # --- Asia ---------------------------------------------------------------------------------------------
    ("Asia", "Central Asia"): (
        ("KG", "KGZ", "Kyrgyzstan", "Kirguistán", "Kyrgyz"),
        ("KZ", "KAZ", "Kazakhstan", "Kazajstán", "Kazakh"),
        ("TJ", "TJK", "Tajikistan", "Tayikistán", "Tajik"),
        ("TM", "TKM", "Turkmenistan", "Turkmenistán", "Turkmen"),
        ("UZ", "UZB", "Uzbekistan", "Uzbekistán", "Uzbek"),
    ),
    ("Asia", "Eastern Asia"): (
        ("CN", "CHN", "China", "China", "Chinese"),
        ("HK", "HKG", "China, Hong Kong Special Administrative Region",
         "China, región administrativa especial de Hong Kong", "Chinese (Hong Kong SAR)"),
        ("JP", "JPN", "Japan", "Japón", "Japanese"),
        ("KP", "PRK", "Democratic People's Republic of Korea", "República Popular Democrática de Corea",
         "North Korean"),
        ("KR", "KOR", "Republic of Korea", "República de Corea", "South Korean"),
        ("MN", "MNG", "Mongolia", "Mongolia", "Mongolian"),
        ("MO", "MAC", "China, Macao Special Administrative Region",
         "China, región administrativa especial de Macao", "Chinese (Macao SAR)"),
        ("TW", "TWN", "Taiwan Province of China", "Taiwán, provincia de China", "Taiwanese"),
    ),
    ("Asia", "South-eastern Asia"): (
        ("BN", "BRN", "Brunei Darussalam", "Brunei Darussalam", "Bruneian"),
        ("ID", "IDN", "Indonesia", "Indonesia", "Indonesian"),
        ("KH", "KHM", "Cambodia", "Camboya", "Cambodian"),
        ("LA", "LAO", "Lao People's Democratic Republic", "República Democrática Popular Lao", "Lao"),
        ("MM", "MMR", "Myanmar", "Myanmar", "Myanmar"),
        ("MY", "MYS", "Malaysia", "Malasia", "Malaysian"),
        ("PH", "PHL", "Philippines", "Filipinas", "Filipino"),
        ("SG", "SGP", "Singapore", "Singapur", "Singaporean"),
        ("TH", "THA", "Thailand", "Tailandia", "Thai"),
        ("TL", "TLS", "Timor-Leste", "Timor-Leste", "Timorese"),
        ("VN", "VNM", "Viet Nam", "Viet Nam", "Vietnamese"),
    ),
    ("Asia", "Southern Asia"): (
        ("AF", "AFG", "Afghanistan", "Afganistán", "Afghan"),
        ("BD", "BGD", "Bangladesh", "Bangladesh", "Bangladeshi"),
        ("BT", "BTN", "Bhutan", "Bhután", "Bhutanese"),
        ("IN", "IND", "India", "India", "Indian"),
        ("IR", "IRN", "Iran (Islamic Republic of)", "Irán (República Islámica del)", "Iranian"),
        ("LK", "LKA", "Sri Lanka", "Sri Lanka", "Sri Lankan"),
        ("MV", "MDV", "Maldives", "Maldivas", "Maldivian"),
        ("NP", "NPL", "Nepal", "Nepal", "Nepalese"),
        ("PK", "PAK", "Pakistan", "Pakistán", "Pakistani"),
    ),
    ("Asia", "Western Asia"): (
        ("AE", "ARE", "United Arab Emirates", "Emiratos Árabes Unidos", "Emirati"),
        ("AM", "ARM", "Armenia", "Armenia", "Armenian"),
        ("AZ", "AZE", "Azerbaijan", "Azerbaiyán", "Azerbaijani"),
        ("BH", "BHR", "Bahrain", "Bahrein", "Bahraini"),
        ("CY", "CYP", "Cyprus", "Chipre", "Cypriot"),
        ("GE", "GEO", "Georgia", "Georgia", "Georgian"),
        ("IL", "ISR", "Israel", "Israel", "Israeli"),
        ("IQ", "IRQ", "Iraq", "Iraq", "Iraqi"),
        ("JO", "JOR", "Jordan", "Jordania", "Jordanian"),
        ("KW", "KWT", "Kuwait", "Kuwait", "Kuwaiti"),
        ("LB", "LBN", "Lebanon", "Líbano", "Lebanese"),
        ("OM", "OMN", "Oman", "Omán", "Omani"),
        ("PS", "PSE", "State of Palestine", "Estado de Palestina", "Palestinian"),
        ("QA", "QAT", "Qatar", "Qatar", "Qatari"),
        ("SA", "SAU", "Saudi Arabia", "Arabia Saudita", "Saudi"),
        ("SY", "SYR", "Syrian Arab Republic", "República Árabe Siria", "Syrian"),
        ("TR", "TUR", "Türkiye", "Türkiye", "Turkish"),
        ("YE", "YEM", "Yemen", "Yemen", "Yemeni"),
    ),
    # --- Europe -------------------------------------------------------------------------------------------
    ("Europe", "Eastern Europe"): (
        ("BG", "BGR", "Bulgaria", "Bulgaria", "Bulgarian"),
        ("BY", "BLR", "Belarus", "Belarús", "Belarusian"),
        ("CZ", "CZE", "Czechia", "Chequia", "Czech"),
        ("HU", "HUN", "Hungary", "Hungría", "Hungarian"),
        ("MD", "MDA", "Republic of Moldova", "República de Moldova", "Moldovan"),
        ("PL", "POL", "Poland", "Polonia", "Polish"),
        ("RO", "ROU", "Romania", "Rumania", "Romanian"),
        ("RU", "RUS", "Russian Federation", "Federación de Rusia", "Russian"),
        ("SK", "SVK", "Slovakia", "Eslovaquia", "Slovak"),
        ("UA", "UKR", "Ukraine", "Ucrania", "Ukrainian"),
    ),
    ("Europe", "Northern Europe"): (
        ("AX", "ALA", "Åland Islands", "Islas Åland", ""),
        ("DK", "DNK", "Denmark", "Dinamarca", "Danish"),
        ("EE", "EST", "Estonia", "Estonia", "Estonian"),
        ("FI", "FIN", "Finland", "Finlandia", "Finnish"),
        ("FO", "FRO", "Faroe Islands", "Islas Feroe", "Faroese"),
        ("GB", "GBR", "United Kingdom of Great Britain and Northern Ireland",
         "Reino Unido de Gran Bretaña e Irlanda del Norte", "British"),
        ("GG", "GGY", "Guernsey", "Guernsey", ""),
        ("IE", "IRL", "Ireland", "Irlanda", "Irish"),
        ("IM", "IMN", "Isle of Man", "Isla de Man", "Manx"),
        ("IS", "ISL", "Iceland", "Islandia", "Icelandic"),
        ("JE", "JEY", "Jersey", "Jersey", ""),
        ("LT", "LTU", "Lithuania", "Lituania", "Lithuanian"),
        ("LV", "LVA", "Latvia", "Letonia", "Latvian"),
        ("NO", "NOR", "Norway", "Noruega", "Norwegian"),
        ("SE", "SWE", "Sweden", "Suecia", "Swedish"),
        ("SJ", "SJM", "Svalbard and Jan Mayen Islands", "Islas Svalbard y Jan Mayen", ""),
    ),
    ("Europe", "Southern Europe"): (
        ("AD", "AND", "Andorra", "Andorra", "Andorran"),
        ("AL", "ALB", "Albania", "Albania", "Albanian"),
        ("BA", "BIH", "Bosnia and Herzegovina", "Bosnia y Herzegovina", "Bosnian and Herzegovinian"),
        ("ES", "ESP", "Spain", "España", "Spanish"),
        ("GI", "GIB", "Gibraltar", "Gibraltar", "Gibraltarian"),
        ("GR", "GRC", "Greece", "Grecia", "Greek"),
        ("HR", "HRV", "Croatia", "Croacia", "Croatian"),
        ("IT", "ITA", "Italy", "Italia", "Italian"),
        ("ME", "MNE", "Montenegro", "Montenegro", "Montenegrin"),
        ("MK", "MKD", "North Macedonia", "Macedonia del Norte", "North Macedonian"),
        ("MT", "MLT", "Malta", "Malta", "Maltese"),
        ("PT", "PRT", "Portugal", "Portugal", "Portuguese"),
        ("RS", "SRB", "Serbia", "Serbia", "Serbian"),
        ("SI", "SVN", "Slovenia", "Eslovenia", "Slovenian"),
        ("SM", "SMR", "San Marino", "San Marino", "Sammarinese"),
        ("VA", "VAT", "Holy See", "Santa Sede", "Vatican"),
    ),
    ("Europe", "Western Europe"): (
        ("AT", "AUT", "Austria", "Austria", "Austrian"),
        ("BE", "BEL", "Belgium", "Bélgica", "Belgian"),
        ("CH", "CHE", "Switzerland", "Suiza", "Swiss"),
        ("DE", "DEU", "Germany", "Alemania", "German"),
        ("FR", "FRA", "France", "Francia", "French"),
        ("LI", "LIE", "Liechtenstein", "Liechtenstein", "Liechtensteiner"),
        ("LU", "LUX", "Luxembourg", "Luxemburgo", "Luxembourger"),
        ("MC", "MCO", "Monaco", "Mónaco", "Monegasque"),
        ("NL", "NLD", "Netherlands (Kingdom of the)", "Países Bajos (Reino de los)", "Dutch"),
    ),
    # --- Oceania ------------------------------------------------------------------------------------------
    ("Oceania", "Australia and New Zealand"): (
        ("AU", "AUS", "Australia", "Australia", "Australian"),
        ("CC", "CCK", "Cocos (Keeling) Islands", "Islas Cocos (Keeling)", "Cocos Islander"),
        ("CX", "CXR", "Christmas Island", "Isla Christmas", "Christmas Islander"),
        ("HM", "HMD", "Heard Island and McDonald Islands", "Isla Heard e Islas McDonald", ""),
        ("NF", "NFK", "Norfolk Island", "Isla Norfolk", "Norfolk Islander"),
        ("NZ", "NZL", "New Zealand", "Nueva Zelandia", "New Zealander"),
    ),
    ("Oceania", "Melanesia"): (
        ("FJ", "FJI", "Fiji", "Fiji", "Fijian"),
        ("NC", "NCL", "New Caledonia", "Nueva Caledonia", "New Caledonian"),
        ("PG", "PNG", "Papua New Guinea", "Papua Nueva Guinea", "Papua New Guinean"),
        ("SB", "SLB", "Solomon Islands", "Islas Salomón", "Solomon Islander"),
        ("VU", "VUT", "Vanuatu", "Vanuatu", "Ni-Vanuatu"),
    ),
    ("Oceania", "Micronesia"): (
        ("FM", "FSM", "Micronesia (Federated States of)", "Micronesia (Estados Federados de)", "Micronesian"),
        ("GU", "GUM", "Guam", "Guam", "Guamanian"),
        ("KI", "KIR", "Kiribati", "Kiribati", "I-Kiribati"),
        ("MH", "MHL", "Marshall Islands", "Islas Marshall", "Marshallese"),
        ("MP", "MNP", "Northern Mariana Islands", "Islas Marianas Septentrionales", "Northern Mariana Islander"),
        ("NR", "NRU", "Nauru", "Nauru", "Nauruan"),
        ("PW", "PLW", "Palau", "Palau", "Palauan"),
        ("UM", "UMI", "United States Minor Outlying Islands", "Islas menores alejadas de Estados Unidos", ""),
    ),
    ("Oceania", "Polynesia"): (
        ("AS", "ASM", "American Samoa", "Samoa Americana", "American Samoan"),
        ("CK", "COK", "Cook Islands", "Islas Cook", "Cook Islander"),
        ("NU", "NIU", "Niue", "Niue", "Niuean"),
        ("PF", "PYF", "French Polynesia", "Polinesia Francesa", "French Polynesian"),
        ("PN", "PCN", "Pitcairn", "Pitcairn", "Pitcairn Islander"),
        ("TK", "TKL", "Tokelau", "Tokelau", "Tokelauan"),
        ("TO", "TON", "Tonga", "Tonga", "Tongan"),
        ("TV", "TUV", "Tuvalu", "Tuvalu", "Tuvaluan"),
        ("WF", "WLF", "Wallis and Futuna Islands", "Islas Wallis y Futuna", "Wallis and Futuna Islander"),
        ("WS", "WSM", "Samoa", "Samoa", "Samoan"),
    ),
    # --- no M49 region ------------------------------------------------------------------------------------
    ("", ""): (("AQ", "ATA", "Antarctica", "Antártida", ""),),
}
# fmt: on

COUNTRIES: dict[str, Country] = dict(
    sorted(
        (a2, Country(a2, a3, en, es, region, subregion, nat or f"Citizen of {en}"))
        for (region, subregion), rows in _TABLE.items()
        for a2, a3, en, es, nat in rows
    )
)

_BY_ALPHA3: dict[str, str] = {c.alpha3: c.alpha2 for c in COUNTRIES.values()}


def normalise(code: str | None) -> str | None:
    """The alpha-2 code for an alpha-2 or alpha-3 code in any case ("tt", "TTO" -> "TT"); None if unknown."""
    code = (code or "").strip().upper()
    if len(code) == 2:
        return code if code in COUNTRIES else None
    if len(code) == 3:
        return _BY_ALPHA3.get(code)
    return None


def get(alpha2: str | None) -> Country | None:
    """The entry for a country code (alpha-2 or alpha-3, any case); None if unknown."""
    code = normalise(alpha2)
    return COUNTRIES[code] if code else None


def alpha3(alpha2: str | None) -> str:
    """The alpha-3 code, or "" for an unknown or empty code."""
    country = get(alpha2)
    return country.alpha3 if country else ""


def from_alpha3(code: str | None) -> str | None:
    """The alpha-2 code for an alpha-3 code (any case); None if unknown."""
    return _BY_ALPHA3.get((code or "").strip().upper())


def name(alpha2: str | None, lang: str = "en") -> str:
    """The country's name in English or Spanish ("es", "es-tt"...; other languages get English).
    An unknown code is returned as given, an empty one as ""."""
    country = get(alpha2)
    if country is None:
        return (alpha2 or "").strip()
    return country.name_es if (lang or "").lower().startswith("es") else country.name


def nationality(alpha2: str | None) -> str:
    """The English nationality adjective ("Venezuelan"); "Unknown" for an empty or unknown code."""
    country = get(alpha2)
    return country.nationality if country else "Unknown"
