"""What the provider sees (issue #5): the snapshot taken when a referral is sent, and how it is shown.

The snapshot holds exactly the fields the sender ticked, copied from the survivor's record at sending time.
The provider's pages render ``snapshot_rows(referral.snapshot)`` and nothing else of the survivor."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from care.choices import NeedType
from cases.choices import Gender, Sex
from referrals.choices import SharedField, Urgency


def name_options(person) -> list[tuple[str, str]]:
    """The names the sender may share: the first given name and each alias (never the family name)."""
    options = []
    first = (person.given_names or "").split()
    if first:
        options.append(first[0])
    options += [alias.name for alias in person.aliases.order_by("pk")]
    seen, result = set(), []
    for name in options:
        if name and name not in seen:
            seen.add(name)
            result.append((name, name))
    return result


def build_snapshot(referral, today=None) -> dict:
    person = referral.case_person.person
    fields = set(referral.shared_fields)
    today = today or timezone.localdate()
    snap: dict = {"needs": list(referral.needs), "urgency": referral.urgency}
    values = {
        SharedField.NAME: lambda: referral.shared_name,
        SharedField.AGE: lambda: person.age_on(today),
        SharedField.SEX: lambda: person.sex,
        SharedField.LANGUAGES: lambda: list(person.languages or []),
        SharedField.SAFETY_NOTES: lambda: referral.safety_notes,
        SharedField.FULL_NAME: lambda: person.full_name,
        SharedField.BIRTH_DATE: lambda: person.birth_date,
        SharedField.NATIONALITY: lambda: list(person.nationalities or []),
        SharedField.GENDER: lambda: person.gender,
        SharedField.INTERPRETER: lambda: bool(person.interpreter_needed),
        SharedField.SAFE_CONTACT: lambda: referral.safe_contact,
    }
    for field in SharedField:
        if field in fields:
            value = values[field]()
            if value not in (None, "", []):
                snap[field.value] = value
    return snap


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def snapshot_rows(snap: dict) -> list[tuple[str, str]]:
    """(label, text) pairs of a snapshot, in a fixed order; only what it holds."""
    rows = []
    for field in SharedField:
        if field.value not in snap:
            continue
        value = snap[field.value]
        if field == SharedField.SEX:
            text = _label(Sex, value)
        elif field == SharedField.GENDER:
            text = _label(Gender, value)
        elif field == SharedField.INTERPRETER:
            text = _("Yes") if value else _("No")
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        else:
            text = str(value)
        rows.append((str(field.label), text))
    rows.append((_("Needs"), ", ".join(_label(NeedType, n) for n in snap.get("needs", []))))
    if "urgency" in snap:
        rows.append((_("Urgency"), _label(Urgency, snap["urgency"])))
    return rows
