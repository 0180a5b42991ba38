"""The case as opened by a screening decision (issue #3). The case record issue (#4) completes it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.choices import (
    AgeEstimation,
    AttachmentKind,
    CaseStatus,
    DocumentType,
    ExploitationForm,
    Gender,
    IdentifierKind,
    PersonRole,
    PlaceKind,
    RelationshipToTrafficker,
    Sex,
    ShareScope,
    TeamRole,
    TraffickingStatus,
    exploitation_form,
)
from utilities.context import memoized
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


def case_grants(user) -> dict[str, frozenset]:
    """What makes cases visible to ``user`` outside leadership, read in one query (issue #11): the cases they
    own (``owned``), their team places (``team``: case id and team role), their unexpired break-glass grants
    (``glass``) and their current shares (``shared``: case id and scope).

    Read once per request (``utilities.context.memoized``: never outside a request, never kept across one,
    forgotten by any write in it, so a grant made or revoked earlier in the request is seen)."""
    return memoized(("case_grants", user.pk), lambda: _read_case_grants(user))


def _read_case_grants(user) -> dict[str, frozenset]:
    now = timezone.now()
    text = models.CharField()

    def rows(queryset, kind: str, case, role):
        return (
            queryset.order_by()
            .annotate(grant_kind=models.Value(kind, output_field=text), grant_case=models.F(case), grant_role=role)
            .values_list("grant_kind", "grant_case", "grant_role")
        )

    none = models.Value("", output_field=text)
    owned = rows(Case.objects.filter(owner=user), "owned", "pk", none)
    team = rows(CaseMember.objects.filter(user=user), "team", "case_id", models.F("role"))
    glass = rows(BreakGlass.objects.filter(user=user, expires_at__gt=now), "glass", "case_id", none)
    shared = rows(
        CaseShare.objects.filter(user=user, until__gte=timezone.localdate(), revoked_at__isnull=True),
        "shared",
        "case_id",
        models.F("scope"),
    )
    grants: dict[str, set] = {"owned": set(), "team": set(), "glass": set(), "shared": set()}
    for kind, case_id, role in owned.union(team, glass, shared, all=True):
        grants[kind].add((case_id, role) if kind in {"team", "shared"} else case_id)
    return {kind: frozenset(values) for kind, values in grants.items()}


class CaseQuerySet(RestrictedQuerySet):
    """Need-to-know (issue #4): the team, the unit's leadership, whoever the case is shared with (until the
    share's end date) and whoever broke the glass (until it expires). Nobody else, whatever their rank."""

    def _restrict(self, user, action):
        if action not in {"view", "change"}:
            return self.none()
        if user.has_perm("cases.view_all"):
            return self
        now = timezone.now()
        # Each grant is its own indexed semi-join on case id (no OR across joined tables, no DISTINCT): the
        # planner reads the few rows a user has instead of joining every case's team, shares and grants.
        team = CaseMember.objects.filter(user=user).values("case_id")
        glass = BreakGlass.objects.filter(user=user, expires_at__gt=now).values("case_id")
        mine = models.Q(owner=user) | models.Q(pk__in=team) | models.Q(pk__in=glass)
        if action == "view":
            shares = CaseShare.objects.filter(user=user, until__gte=now.date(), revoked_at__isnull=True).values("case_id")
            mine |= models.Q(pk__in=shares)
        return self.filter(mine)


class Case(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, null=True, blank=True)
    report = models.ForeignKey("intake.Report", on_delete=models.PROTECT, related_name="cases")
    decision = models.OneToOneField("screening.Decision", on_delete=models.PROTECT, related_name="case")
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.ACTIVE, db_index=True)
    trafficking_status = models.CharField(_("trafficking status"), max_length=40, choices=TraffickingStatus.choices)
    deciding_org = models.CharField(_("deciding organisation"), max_length=40)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_cases")
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closure_reason = EncryptedTextField(_("reason for closure"), blank=True)
    follow_up = EncryptedTextField(_("follow-up after closure"), blank=True)
    follow_up_due = models.DateField(_("follow up by"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at", "-id"]
        # The case list's order: its first page is read from the index instead of sorting every case.
        indexes = [models.Index(fields=["-opened_at", "-id"], name="case_list_order_idx")]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("cases:case_detail", args=[self.pk])


class CaseMember(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_memberships")
    role = models.CharField(max_length=20, choices=TeamRole.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="unique_case_member")]


class PersonQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        """A person is visible through a case the user may see, and only in a role the user may see there:
        care officers do not see suspects by default, suspect handlers do not see victims (issue #4)."""
        if action not in {"view", "change"}:
            return self.none()
        links = CasePerson.objects.visible_to(user, action)
        return self.filter(pk__in=links.values("person_id"))


class Person(models.Model):
    """One human being, however many cases they appear in (a suspect in three cases is one person with three
    links). Identity fields are encrypted; search goes through keyed blind indexes (cases/search.py)."""

    given_names = EncryptedTextField(_("given names"), blank=True)
    family_names = EncryptedTextField(_("family names"), blank=True)
    birth_date = EncryptedTextField(_("date of birth"), blank=True, help_text=_("YYYY-MM-DD"))
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    estimated_age = models.PositiveSmallIntegerField(_("estimated age"), null=True, blank=True)
    age_estimated_on = models.DateField(_("age estimated on"), null=True, blank=True)
    age_estimation = models.CharField(_("how the age is known"), max_length=12, choices=AgeEstimation.choices, default=AgeEstimation.UNKNOWN)
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    gender = models.CharField(_("gender (HTCDS)"), max_length=24, choices=Gender.choices, default=Gender.UNKNOWN)
    nationalities = models.JSONField(_("nationalities (ISO 3166-1 alpha-2)"), default=list, blank=True)
    languages = models.JSONField(_("languages (ISO 639)"), default=list, blank=True)
    interpreter_needed = models.BooleanField(_("needs an interpreter"), default=False)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.given_names, self.family_names) if part)

    def age_on(self, day) -> int | None:
        """Age on ``day`` from the date of birth, else from the estimate (moved on by the years since)."""
        if self.birth_date:
            try:
                born = timezone.datetime.fromisoformat(self.birth_date).date()
            except ValueError:
                born = None
            if born:
                return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        if self.estimated_age is not None and self.age_estimated_on:
            return self.estimated_age + max(0, (day - self.age_estimated_on).days // 365)
        return self.estimated_age


class PersonAlias(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="aliases")
    name = EncryptedTextField(_("alias or other name"))
    created_at = models.DateTimeField(auto_now_add=True)


class Identifier(models.Model):
    """Documents, phones, emails, handles, addresses, vehicles, bank accounts, online profiles (issue #4).
    Belongs to a person, or to a case directly (an address of exploitation, a vehicle seen)."""

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="identifiers")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(_("kind"), max_length=20, choices=IdentifierKind.choices)
    document_type = models.CharField(_("document type"), max_length=20, choices=DocumentType.choices, blank=True)
    value = EncryptedTextField(_("value"))
    index = models.CharField(max_length=32, db_index=True, editable=False)
    country = models.CharField(_("issuing country (ISO)"), max_length=2, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "index"])]
        constraints = [models.CheckConstraint(condition=models.Q(person__isnull=False) | models.Q(case__isnull=False), name="identifier_has_owner")]


class SearchToken(models.Model):
    """Keyed blind-index tokens of a person's names (exact word, phonetic code, prefix, pairs) for tolerant
    search and duplicate detection without plaintext in the database (issue #4; cases/search.py).

    The most numerous rows of the database (about 17 per person), so they are kept small (issue #11): the
    token is the HMAC truncated to a signed 64-bit integer, and (token, person) is the primary key itself, the
    only index searches read (index-only), with no separate id column and id index to maintain on each import.
    The person index serves deleting a person's tokens; new people's rows land at its end. The tokens are
    derived data (``manage.py reindex_people`` rebuilds them), deleted with their person by the ORM (CASCADE) and
    by retention: the database does not check each row's person, a check that cost a third of the database's
    work in an import (issue #11)."""

    pk = models.CompositePrimaryKey("token", "person_id")
    token = models.BigIntegerField()
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="search_tokens", db_constraint=False)
    kind = models.CharField(max_length=1)  # cases.search: w = word, p = sound, x = prefix, a b c s t = pairs


class CasePersonQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        links = self.filter(person__merged_into__isnull=True)
        if user.has_perm("cases.view_all"):
            return links.filter(case__in=Case.objects.visible_to(user, action))
        # Work out first which cases the user sees and in which capacity (a handful of ids for anyone outside
        # leadership), then filter the links by case id and role: one indexed query instead of a join over
        # every link in the database (measured 1.2 s -> 0.12 s at a million people, docs/benchmarks.md).
        # The grants are read straight from their tables (one query, no id lists sent back; once per request,
        # issue #11): a grant is what makes a case visible, exactly as Case.objects.visible_to decides.
        if action not in {"view", "change"}:
            return links.none()
        grants = case_grants(user)
        owned, team, glass = grants["owned"], grants["team"], grants["glass"]
        shared = grants["shared"] if action == "view" else frozenset()
        if not (owned or team or glass or shared):
            return links.none()

        def with_role(grants, *roles) -> set[int]:
            return {case_id for case_id, role in grants if role in roles}

        full = owned | glass | with_role(team, TeamRole.OWNER, TeamRole.INVESTIGATOR) | with_role(shared, ShareScope.FULL)
        victims = (with_role(team, TeamRole.CARE) | with_role(shared, ShareScope.VICTIMS)) - full
        suspects = (with_role(team, TeamRole.SUSPECT_HANDLER) | with_role(shared, ShareScope.SUSPECTS)) - full
        neutral = [PersonRole.WITNESS, PersonRole.REPORTER]
        return links.filter(
            models.Q(case_id__in=full)
            | models.Q(case_id__in=victims, role__in=[PersonRole.VICTIM, PersonRole.GUARDIAN, PersonRole.FAMILY, *neutral])
            | models.Q(case_id__in=suspects, role__in=[PersonRole.SUSPECT, *neutral])
        )


class CasePerson(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="persons")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="case_links")
    role = models.CharField(_("role"), max_length=20, choices=PersonRole.choices)
    pseudonym = models.CharField(_("pseudonym"), max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CasePersonQuerySet.as_manager()

    class Meta:
        ordering = ["role", "pseudonym"]
        constraints = [models.UniqueConstraint(fields=["case", "person", "role"], name="unique_case_person_role")]


class VictimProfile(models.Model):
    """Exploitation details of a victim in a case, in HTCDS terms (issue #4)."""

    case_person = models.OneToOneField(CasePerson, on_delete=models.CASCADE, related_name="victim_profile")
    trafficking_status = models.CharField(_("trafficking status"), max_length=40, choices=TraffickingStatus.choices, default=TraffickingStatus.POSSIBLE)
    registered_on = models.DateField(_("registered / identified on"), null=True, blank=True)
    exploitation_types = models.JSONField(_("types of exploitation"), default=list, blank=True)
    forced_labour_industry = models.CharField(_("forced-labour industry"), max_length=60, blank=True)
    sexual_exploitation_types = models.JSONField(_("types of sexual exploitation"), default=list, blank=True)
    methods_of_control = models.JSONField(_("methods of control"), default=list, blank=True)
    recruitment_methods = models.JSONField(_("methods of recruitment"), default=list, blank=True)
    recruitment_websites = models.JSONField(_("recruitment websites and apps"), default=list, blank=True)
    exploitation_websites = models.JSONField(_("exploitation websites and apps"), default=list, blank=True)
    relationship_to_trafficker = models.CharField(_("relationship to trafficker"), max_length=20, choices=RelationshipToTrafficker.choices, blank=True)
    age_when_trafficked = models.PositiveSmallIntegerField(_("age when trafficked"), null=True, blank=True)
    vulnerabilities = models.JSONField(_("vulnerabilities"), default=list, blank=True)
    vulnerability_details = EncryptedTextField(_("details of vulnerabilities"), blank=True)
    # Derived on every save, for statistics (bulk writers call derive()): the GLOTIP form of exploitation,
    # and the date of detection (registration, else the day the case opened), indexed for year filters.
    exploitation_form = models.CharField(
        _("form of exploitation (GLOTIP)"), max_length=10, choices=ExploitationForm.choices, blank=True, default="", editable=False
    )
    detected_on = models.DateField(_("date of detection"), null=True, blank=True, editable=False, db_index=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    def save(self, *args, **kwargs):
        self.derive()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "exploitation_form", "detected_on"}
        super().save(*args, **kwargs)

    def derive(self, case_opened_at=None) -> None:
        self.exploitation_form = exploitation_form(self.exploitation_types)
        if self.registered_on:
            self.detected_on = self.registered_on
        else:
            opened = case_opened_at or Case.objects.filter(persons__pk=self.case_person_id).values_list("opened_at", flat=True).first()
            self.detected_on = timezone.localdate(opened) if opened else None


class SuspectProfile(models.Model):
    case_person = models.OneToOneField(CasePerson, on_delete=models.CASCADE, related_name="suspect_profile")
    roles_in_process = models.JSONField(_("role in the trafficking process (HTCDS)"), default=list, blank=True)
    role_details = EncryptedTextField(_("details"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)


class Place(models.Model):
    """Where recruitment, transit and exploitation happened (HTCDS ``hte_``), with a map pin."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="places")
    case_person = models.ForeignKey(CasePerson, null=True, blank=True, on_delete=models.CASCADE, related_name="places")
    kind = models.CharField(_("kind"), max_length=20, choices=PlaceKind.choices)
    description = EncryptedTextField(_("description and address"), blank=True)
    city = models.CharField(_("city or town"), max_length=120, blank=True)
    country = models.CharField(_("country (ISO)"), max_length=2, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date_from", "id"]


class CaseNote(models.Model):
    """HTCDS ``cco_CaseComment``: a dated note on the case timeline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    text = EncryptedTextField(_("note"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class CaseAttachment(models.Model):
    """Photos, documents and statements: encrypted on disk under a generated name (utilities/storage.py)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    case_person = models.ForeignKey(CasePerson, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=20, choices=AttachmentKind.choices)
    stored_name = models.CharField(max_length=32, unique=True, editable=False)
    original_name = EncryptedTextField(_("file name"))
    description = EncryptedTextField(_("description"), blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class CaseShare(models.Model):
    """Explicit need-to-know beyond the team: with a reason and an end date (issue #4)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_shares")
    scope = models.CharField(_("what is shared"), max_length=10, choices=ShareScope.choices, default=ShareScope.FULL)
    reason = EncryptedTextField(_("reason"))
    until = models.DateField(_("until"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class BreakGlass(models.Model):
    """Emergency access to a case the user is not on: reason required, time-limited, the Director is alerted."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="break_glass")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = EncryptedTextField(_("reason"))
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()


class PersonMerge(models.Model):
    """A merge of two person records, kept so it can be undone (issue #4)."""

    kept = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_kept")
    merged = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_absorbed")
    moved = models.JSONField(default=dict)  # ids of rows moved from merged to kept, per table
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
