"""Investigation, prosecution and the court case file (issue #6), hanging off a case.

Who may see any of it: leadership and the case team with full access (owner, investigator, suspect handler),
i.e. users for whom the case's suspects are visible. Care officers see only the court dates of their
survivor's case (``hearings_visible_to``); partners nothing. Narratives, terms and places are encrypted;
evidence files are stored encrypted with the SHA-256 of their content, re-checked on every use.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cases.choices import PersonRole, TeamRole
from investigations.choices import (
    ActionKind,
    Agreement,
    AppealStatus,
    ChargeOutcome,
    CourtFileStatus,
    CustodyStatus,
    MLAStatus,
    OrderKind,
    TaskStatus,
)
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet

FULL_ROLES = (TeamRole.OWNER, TeamRole.INVESTIGATOR, TeamRole.SUSPECT_HANDLER)


def investigation_cases(user, action: str = "view", *, case_id: int | None = None):
    """Cases whose investigation ``user`` may see ("view") or record ("change"). With ``case_id``, the same
    question about that one case only, every subquery narrowed to it (issue #11: the case page asks it, and the
    unnarrowed sets are the user's whole caseload)."""
    from cases.models import Case, CaseMember, CasePerson

    cases = Case.objects.visible_to(user, action)
    suspects = CasePerson.objects.visible_to(user, action).filter(role=PersonRole.SUSPECT)
    team = (
        CaseMember.objects.filter(user=user, role__in=FULL_ROLES)
        if user.is_authenticated
        else CaseMember.objects.none()
    )
    if case_id is not None:
        cases, suspects, team = cases.filter(pk=case_id), suspects.filter(case_id=case_id), team.filter(case_id=case_id)
    if not user.is_authenticated or user.has_perm("cases.view_all"):
        return cases
    return cases.filter(
        models.Q(owner=user) | models.Q(pk__in=suspects.values("case_id")) | models.Q(pk__in=team.values("case_id"))
    )


def court_date_cases(user, *, case_id: int | None = None):
    """Cases whose court dates ``user`` may see: the investigation side, and care officers of a survivor."""
    from cases.models import Case, CasePerson

    victims = CasePerson.objects.visible_to(user).filter(role=PersonRole.VICTIM)
    cases = Case.objects.all()
    if case_id is not None:
        victims, cases = victims.filter(case_id=case_id), cases.filter(pk=case_id)
    investigated = investigation_cases(user, case_id=case_id).values("pk")
    return cases.filter(models.Q(pk__in=investigated) | models.Q(pk__in=victims.values("case_id")))


class InvestigationQuerySet(RestrictedQuerySet):
    case_path = "case"

    def _restrict(self, user, action):
        if action not in {"view", "change"}:
            return self.none()
        return self.filter(**{f"{self.case_path}__in": investigation_cases(user, action).values("pk")})


class SuspectQuerySet(InvestigationQuerySet):
    case_path = "suspect__case"


class EvidenceChildQuerySet(InvestigationQuerySet):
    case_path = "evidence__case"


class ParticipationQuerySet(InvestigationQuerySet):
    case_path = "victim__case"


class HearingQuerySet(InvestigationQuerySet):
    case_path = "court_case__case"


class Tracked(models.Model):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = InvestigationQuerySet.as_manager()

    class Meta:
        abstract = True


class LogEntry(Tracked):
    """One action of the investigation log: interviews (the statements of the court file), searches..."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="investigation_log")
    kind = models.CharField(_("kind of action"), max_length=20, choices=ActionKind.choices)
    occurred_on = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=200)
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("officers"), blank=True, related_name="+"
    )
    interviewee = models.ForeignKey(
        "cases.CasePerson",
        verbose_name=_("person interviewed"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    interpreter_used = models.BooleanField(_("interpreter used"), default=False)
    interpreter_language = models.CharField(_("interpreter's language"), max_length=60, blank=True)
    outcome = EncryptedTextField(_("outcome"), blank=True)

    class Meta:
        verbose_name = _("investigation action")
        ordering = ["occurred_on", "id"]


class LogAttachmentQuerySet(InvestigationQuerySet):
    case_path = "entry__case"


class LogAttachment(models.Model):
    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="attachments")
    stored_name = models.CharField(max_length=32, unique=True, editable=False)
    original_name = EncryptedTextField(_("file name"))
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LogAttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]


class Task(Tracked):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="investigation_tasks")
    title = models.CharField(_("task"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)

    class Meta:
        ordering = ["due_on", "id"]


class SuspectStatus(Tracked):
    suspect = models.OneToOneField("cases.CasePerson", on_delete=models.CASCADE, related_name="custody")
    custody_status = models.CharField(
        _("custody status"), max_length=12, choices=CustodyStatus.choices, default=CustodyStatus.AT_LARGE
    )

    objects = SuspectQuerySet.as_manager()


class Arrest(Tracked):
    suspect = models.ForeignKey("cases.CasePerson", on_delete=models.CASCADE, related_name="arrests")
    arrested_on = models.DateField(_("date of arrest"))
    place = EncryptedTextField(_("place"))
    arrested_by = models.CharField(_("by whom"), max_length=200)

    objects = SuspectQuerySet.as_manager()

    class Meta:
        ordering = ["arrested_on", "id"]


class Bail(Tracked):
    suspect = models.ForeignKey("cases.CasePerson", on_delete=models.CASCADE, related_name="bail")
    granted_on = models.DateField(_("date granted"))
    terms = EncryptedTextField(_("terms"))

    objects = SuspectQuerySet.as_manager()

    class Meta:
        ordering = ["granted_on", "id"]


class Evidence(Tracked):
    """An exhibit and, for digital evidence, its file (encrypted, with the SHA-256 taken on upload)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="evidence")
    reference = models.CharField(_("exhibit reference"), max_length=20)
    item = models.CharField(_("item"), max_length=200)
    description = EncryptedTextField(_("description"), blank=True)
    found_at = EncryptedTextField(_("where found"), blank=True)
    seized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("seized by"), on_delete=models.PROTECT, related_name="+"
    )
    seized_at = models.DateTimeField(_("seized at"))
    storage_location = models.CharField(_("storage location"), max_length=200, blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("current custodian"), on_delete=models.PROTECT, related_name="+"
    )
    stored_name = models.CharField(max_length=32, blank=True, editable=False)
    original_name = EncryptedTextField(_("file name"), blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    broken_at = models.DateTimeField(_("chain broken"), null=True, blank=True)

    class Meta:
        ordering = ["reference", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "reference"], name="unique_exhibit_reference")]

    def __str__(self) -> str:
        return self.reference


class CustodyTransfer(models.Model):
    """One hand-over; the chain holds only once the receiving officer acknowledges it."""

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="transfers")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    handed_at = models.DateTimeField(_("when"))
    reason = EncryptedTextField(_("why"))
    acknowledged_at = models.DateTimeField(_("receipt acknowledged"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EvidenceChildQuerySet.as_manager()

    class Meta:
        ordering = ["handed_at", "id"]


class MLARequest(Tracked):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="mla_requests")
    country = models.CharField(_("country (ISO)"), max_length=2)
    authority = models.CharField(_("authority"), max_length=200)
    request = EncryptedTextField(_("what is asked"))
    legal_basis = models.CharField(_("legal basis"), max_length=200)
    sent_on = models.DateField(_("sent"), null=True, blank=True)
    acknowledged_on = models.DateField(_("acknowledged"), null=True, blank=True)
    answered_on = models.DateField(_("answered"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=14, choices=MLAStatus.choices, default=MLAStatus.DRAFT)

    class Meta:
        ordering = ["sent_on", "id"]


class CourtCase(Tracked):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="court_cases")
    court = models.CharField(_("court"), max_length=200)
    number = models.CharField(_("court case number"), max_length=60)
    prosecutor = models.CharField(_("prosecutor"), max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.court} {self.number}"


class Charge(Tracked):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="charges")
    suspect = models.ForeignKey(
        "cases.CasePerson", verbose_name=_("suspect"), on_delete=models.PROTECT, related_name="charges"
    )
    court_case = models.ForeignKey(
        CourtCase, verbose_name=_("court case"), null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    offence = models.CharField(_("offence"), max_length=200)
    statute = models.CharField(
        _("statutory reference"), max_length=200, help_text=_('e.g. "Trafficking in Persons Act 2011, s.16"')
    )
    laid_on = models.DateField(_("date laid"))
    prosecutor = models.CharField(_("prosecutor"), max_length=200, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=ChargeOutcome.choices, default=ChargeOutcome.PENDING
    )
    outcome_on = models.DateField(_("date of outcome"), null=True, blank=True)
    sentence = EncryptedTextField(_("sentence"), blank=True)
    compensation = models.DecimalField(
        _("compensation to the victim (TTD)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    appeal = models.CharField(_("appeal"), max_length=12, choices=AppealStatus.choices, default=AppealStatus.NONE)

    class Meta:
        ordering = ["laid_on", "id"]


class Hearing(Tracked):
    court_case = models.ForeignKey(
        CourtCase, verbose_name=_("court case"), on_delete=models.CASCADE, related_name="hearings"
    )
    starts_at = models.DateTimeField(_("date and time"))
    court = models.CharField(_("court"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=200)
    outcome = EncryptedTextField(_("outcome"), blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = HearingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]

    def get_absolute_url(self) -> str:
        return reverse("investigations:court", args=[self.court_case.case_id])


class CourtOrder(Tracked):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="court_orders")
    court_case = models.ForeignKey(
        CourtCase, verbose_name=_("court case"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    kind = models.CharField(_("kind of order"), max_length=12, choices=OrderKind.choices)
    terms = EncryptedTextField(_("terms"))
    made_on = models.DateField(_("made on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    expiry_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["made_on", "id"]


class VictimParticipation(Tracked):
    victim = models.OneToOneField("cases.CasePerson", on_delete=models.CASCADE, related_name="participation")
    agreed = models.CharField(
        _("agreed to take part"), max_length=10, choices=Agreement.choices, default=Agreement.UNDECIDED
    )
    agreed_on = models.DateField(_("date"), null=True, blank=True)
    support = EncryptedTextField(_("support provided"), blank=True)
    special_measures = models.JSONField(_("special measures"), default=list, blank=True)

    objects = ParticipationQuerySet.as_manager()


class CaseActivity(models.Model):
    """When the case-inactive alert last went out, so it goes once per inactivity period."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="+")
    alerted_for = models.DateTimeField(help_text="time of the last audit event when the alert went out")


class CourtFile(models.Model):
    """One compiled court case file: who asked, with which options, and the SHA-256 of the PDF."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="court_files")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    reveal_identity = models.BooleanField(_("reveal victims' identity"), default=False)
    reveal_reason = EncryptedTextField(_("reason for revealing identity"), blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=CourtFileStatus.choices, default=CourtFileStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stored_name = models.CharField(max_length=32, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    objects = InvestigationQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
