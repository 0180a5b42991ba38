"""Fictional demo data for Trinidad and Tobago (issue #2). Public bodies carry their real names; shelters
and NGOs are invented, because a real shelter's name next to demo data would mislead and could endanger."""

from __future__ import annotations

from directory.choices import AgencyKind as K
from directory.choices import OrganisationType as T

DEMO_PASSWORD = "Beacon-demo-2026"

AGENCIES = [
    # name, short name, HTCDS type, kind, home unit
    ("Counter Trafficking Unit, Ministry of National Security", "CTU", T.CENTRAL_GOVERNMENT, K.CTU, True),
    ("Trinidad and Tobago Police Service", "TTPS", T.LAW_ENFORCEMENT, K.POLICE, False),
    ("Immigration Division", "Immigration", T.IMMIGRATION, K.IMMIGRATION, False),
    ("Children's Authority of Trinidad and Tobago", "CATT", T.CENTRAL_GOVERNMENT, K.CHILD_PROTECTION, False),
    ("Ministry of Labour, Labour Inspectorate", "Labour", T.CENTRAL_GOVERNMENT, K.LABOUR, False),
    ("Office of the Director of Public Prosecutions", "ODPP", T.LEGAL, K.PROSECUTION, False),
    ("Ministry of Social Development and Family Services", "MSDFS", T.CENTRAL_GOVERNMENT, K.MINISTRY, False),
    ("North West Regional Health Authority", "NWRHA", T.HEALTH, K.CLINIC, False),
    ("Legal Aid and Advisory Authority", "Legal Aid", T.LEGAL, K.LEGAL_AID, False),
    ("Safe Harbour Shelter (fictional)", "Safe Harbour", T.NGO, K.SHELTER, False),
    ("Blue Basin Women's Refuge (fictional)", "Blue Basin", T.NGO, K.SHELTER, False),
    ("Pathways Counselling Centre (fictional)", "Pathways", T.NGO, K.NGO, False),
    ("St Joseph Community Outreach (fictional)", "SJCO", T.NGO, K.FAITH_BASED, False),
    ("International Organization for Migration, Port of Spain", "IOM", T.INTERNATIONAL, K.INTERNATIONAL, False),
    ("UNHCR Trinidad and Tobago", "UNHCR", T.INTERNATIONAL, K.INTERNATIONAL, False),
]

# username, first, last, agency short name, roles, job title
USERS = [
    ("director", "Dana", "Ramdial", "CTU", ["director"], "Director"),
    ("deputy", "Marcus", "Phillip", "CTU", ["deputy_director"], "Deputy Director"),
    ("hoi", "Helen", "Osei", "CTU", ["head_of_investigations"], "Head of Investigations"),
    ("investigator", "Ian", "Baptiste", "CTU", ["investigator"], "Investigator"),
    ("investigator2", "Renee", "Mohammed", "CTU", ["investigator"], "Investigator"),
    ("care", "Carla", "Joseph", "CTU", ["victim_care_officer"], "Victim Care Officer"),
    ("intake", "Imran", "Khan", "CTU", ["intake_officer"], "Intake Officer"),
    ("analyst", "Anya", "Lewis", "CTU", ["analyst"], "Research Analyst"),
    ("sysadmin", "Sam", "Ali", "CTU", ["system_administrator"], "System Administrator"),
    ("auditor", "Aubrey", "Charles", "CTU", ["auditor"], "Internal Auditor"),
    ("shelter", "Sharon", "Alexander", "Safe Harbour", ["service_provider_staff"], "Shelter Coordinator"),
    ("refuge", "Beverly", "Sealy", "Blue Basin", ["service_provider_staff"], "Refuge Manager"),
    ("catt", "Kevin", "Noel", "CATT", ["service_provider_staff"], "Child Protection Officer"),
    ("police", "Patrick", "Ferreira", "TTPS", ["investigator"], "Police Constable"),
]
