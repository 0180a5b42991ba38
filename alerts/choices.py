from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    """Events alert rules react to (issue #3). Later domains add theirs here."""

    REPORT_CREATED = "report.created", _("New report")
    REPORT_CHILD = "report.child", _("Report involving a child")
    REPORT_DANGER = "report.immediate_danger", _("Someone in immediate danger")
    REPORT_ASSIGNED = "report.assigned", _("Report assigned")
    ACK_OVERDUE = "report.ack_overdue", _("Acknowledgement overdue")
    SCREENING_OVERDUE = "report.screening_overdue", _("Screening overdue")
    DECISION_RECORDED = "decision.recorded", _("Decision recorded")
    CASE_OPENED = "case.opened", _("Case opened")
    BREAK_GLASS = "case.break_glass", _("Emergency access to a case")
    PERMIT_EXPIRING = "care.permit_expiring", _("Immigration permit or document expiring")
    SUSPECT_ARRESTED = "investigation.suspect_arrested", _("Suspect arrested")
    CHARGE_LAID = "investigation.charge_laid", _("Charge laid")
    HEARING_SOON = "investigation.hearing_soon", _("Hearing in 7 days")
    ORDER_EXPIRING = "investigation.order_expiring", _("Court order expiring")
    EVIDENCE_BROKEN = "investigation.evidence_broken", _("Evidence chain broken")
    CASE_INACTIVE = "investigation.case_inactive", _("Case inactive for 30 days")
    ESCALATION = "alert.escalated", _("Unacknowledged alert escalated")
    # Issue #9: another country's unit asked us something, or answered (or declined) what we asked.
    COOP_REQUEST_RECEIVED = "cooperation.request_received", _("Cooperation request received from another country")
    COOP_ANSWER_RECEIVED = "cooperation.answer_received", _("Answer received to a cooperation request")
    # Issue #9: a referral could not be sent to Primero, even after the automatic retries.
    PRIMERO_SEND_FAILED = "integrations.primero_failed", _("Referral could not be sent to Primero")
